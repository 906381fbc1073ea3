"""The user-facing methods: HandOutput shapes, left hands, absolute placement, video, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from handzoo_h2onet.stream import H2ONetStream, frame_offsets

from handzoo.errors import ConfigError, InputError


def _images(n=2, h=120, w=160, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_sf_output(sf_model):
    out = sf_model(_images(), boxes=[[40, 30, 100, 90], [10, 10, 60, 50]])
    assert out.joints3d.shape == (2, 1, 21, 3) and out.vertices.shape == (2, 1, 778, 3)
    assert out.joints2d.shape == (2, 1, 21, 2) and out.root_relative and out.mano is None
    assert out.faces.shape[1] == 3 and out.extras["global_rotation"].shape == (2, 1, 3, 3)
    assert torch.allclose(out.joints3d[:, :, 0], torch.zeros(2, 1, 3), atol=1e-7)
    rot = out.extras["global_rotation"][:, 0]
    assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3).expand(2, 3, 3), atol=1e-5)


def test_left_hand_is_the_mirrored_right(sf_model):
    """A left hand is cropped mirrored; its output is the right-hand output mirrored back."""
    from handzoo_h2onet.preprocess import CropMeta

    img = _images(1)[0]
    w = img.shape[1]
    batch, meta = sf_model.preprocess(sf_model.make_query([img], boxes=[[40.0, 30.0, 100.0, 90.0]], sides="left"))
    assert bool(meta["crop"].flipped[0])
    with torch.inference_mode():
        raw = sf_model(batch)
    left = sf_model.postprocess(raw, meta)
    crop = meta["crop"]
    mirror2d = torch.tensor([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    as_right = CropMeta((mirror2d @ torch.cat([crop.inverse[0], torch.tensor([[0.0, 0, 1]], dtype=torch.float64)]))[None, :2],
                        torch.tensor([False]), crop.boxes, crop.image_sizes)  # fmt: skip
    right = sf_model.postprocess(raw, {"crop": as_right, "root": None})
    mirror = torch.tensor([-1.0, 1.0, 1.0])
    assert left.side.item() == 1 and right.side.item() == 0
    assert torch.allclose(left.joints3d, right.joints3d * mirror, atol=1e-7)
    assert torch.allclose(left.vertices, right.vertices * mirror, atol=1e-7)
    rl, rr = left.extras["global_rotation"][0, 0], right.extras["global_rotation"][0, 0]
    assert torch.allclose(rl, torch.diag(mirror) @ rr @ torch.diag(mirror), atol=1e-6)
    j2 = right.joints2d.clone()
    j2[..., 0] = w - 1 - j2[..., 0]
    assert torch.allclose(left.joints2d, j2, atol=1e-4)


def test_joints2d_crop_and_root_placement(sf_model):
    img = _images(1)[0]
    j2d = np.random.default_rng(1).uniform(40, 90, size=(1, 21, 2))
    root = np.array([[0.1, -0.05, 0.6]])
    out = sf_model([img], joints2d=j2d, root=root)
    assert not out.root_relative
    assert torch.allclose(out.joints3d[0, 0, 0], torch.tensor(root[0], dtype=torch.float32), atol=1e-6)


def test_mf_output_and_stream(mf_model):
    box = [40, 30, 100, 90]
    seq = _images(3, seed=3)
    stream = H2ONetStream(mf_model, short=1, long=2)
    pushed = [stream.push(im, box=box) for im in seq]
    assert stream.frame_index == 3 and all(r.joints3d.shape == (1, 1, 21, 3) for r in pushed)
    # while t < long, frame t uses frames t - t//2 and 0; then t - short and t - long
    triples = [[seq[1], seq[1], seq[0]], [seq[2], seq[1], seq[0]]]
    out = mf_model(triples, boxes=[[box] * 3] * 2)
    assert out.joints3d.shape == (2, 1, 21, 3) and out.vertices.shape == (2, 1, 778, 3)
    occ = out.extras["finger_occlusion_prob"]
    assert occ.shape == (2, 1, 5) and ((occ >= 0) & (occ <= 1)).all()
    assert out.extras["hand_occlusion_prob"].shape == (2, 1)
    # each batch row equals the stream's single-sample run of the same frames
    for i, res in enumerate(pushed[1:]):
        assert torch.allclose(res.vertices[0], out.vertices[i], atol=1e-5)
        assert torch.allclose(res.extras["finger_occlusion_prob"][0], occ[i], atol=1e-5)
    # one flat triple is one sample, cropped like the same triple inside a batch
    single, _ = mf_model.preprocess(mf_model.make_query(triples[1], boxes=[box] * 3))
    batch, _ = mf_model.preprocess(mf_model.make_query(triples, boxes=[[box] * 3] * 2))
    assert all(torch.equal(single[k][0], batch[k][1]) for k in ("img_0", "img_1", "img_2"))
    stream.reset()
    assert stream.frame_index == 0


def test_frame_offsets_follow_the_authors():
    assert [frame_offsets(t, 5, 10) for t in (0, 1, 4, 9, 10, 30)] == [(0, 0), (0, 1), (2, 4), (4, 9), (5, 10), (5, 10)]


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        ([np.zeros((0, 10, 3), np.uint8)], {}, "image"),
        (["/nonexistent/frame.jpg"], {}, "frame.jpg"),
        ([np.zeros((64, 64, 3), np.uint8)], {"boxes": [[1, 2, 3]]}, "boxes"),
        ([np.zeros((64, 64, 3), np.uint8)], {"sides": "middle"}, "side"),
        ([np.zeros((64, 64, 3), np.uint8)], {"root": [[0, 0]]}, "root"),
        ([np.zeros((64, 64, 3), np.uint8)], {"joints2d": np.full((1, 21, 2), np.nan)}, "NaN"),
    ],
)
def test_bad_inputs(sf_model, images, kwargs, match):
    with pytest.raises(InputError, match=match):
        sf_model(images, **kwargs)


def test_mf_bad_frames(mf_model):
    with pytest.raises(InputError, match="3"):
        mf_model(_images(2))
    with pytest.raises(InputError, match="t-short"):
        mf_model(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(ConfigError):
        H2ONetStream(mf_model, short=5, long=5)


def test_losses_backward(sf_model, mf_model):
    import copy

    # the smallest train-mode batches: BatchNorm needs two samples (SF), MF stacks three frames
    for model, batch in ((copy.deepcopy(sf_model), {"img": torch.rand(2, 3, 128, 128)}),
                         (copy.deepcopy(mf_model), {f"img_{i}": torch.rand(1, 3, 128, 128) for i in range(3)})):  # fmt: skip
        model.train()
        out = model(batch)
        n = out["pred_verts3d_wo_gr"].shape[0]
        tgt = {
            "gt_verts3d_wo_gr": torch.zeros(n, 778, 3) + torch.randn(778, 3) * 0.05,
            "gt_joints3d_wo_gr": torch.zeros(n, 21, 3),
            "gt_verts3d_w_gr": torch.randn(n, 778, 3) * 0.05,
            "gt_joints3d_w_gr": torch.zeros(n, 21, 3),
            "gt_glob_rot_mat": torch.eye(3).expand(n, 3, 3),
            "joints_img": torch.rand(n, 21, 2),
            "gt_occ": torch.randint(0, 2, (n, 6)),
        }
        terms = model.losses()["stage2"](out, tgt)
        assert torch.isfinite(terms["loss"])
        assert ("occ" in terms) == model.multi_frame
        terms["loss"].backward()
        assert model.backbone.pre_layer[0][0].weight.grad is not None
    with pytest.raises(InputError, match="gt_verts3d_wo_gr"):
        model.losses()["stage1"](out, {})


def test_unknown_hand_model(template_dir, joint_regressor):
    from handzoo_h2onet.model import H2ONetSF

    with pytest.raises(ConfigError, match="openhand"):
        H2ONetSF(hand_model="smplx", template_dir=template_dir)


def test_openhand_variants_need_no_files(monkeypatch):
    """The open-hand cards build untrained from shipped data only and return 1609-vertex hands."""
    import handzoo

    monkeypatch.delenv("HANDZOO_MANO_DIR", raising=False)
    monkeypatch.delenv("HANDZOO_H2ONET_TEMPLATE_DIR", raising=False)
    box = [40, 30, 100, 90]
    sf = handzoo.load("h2onet-sf-openhand", pretrained=False)
    out = sf(_images(1)[0], boxes=[box])
    assert out.vertices.shape == (1, 1, 1609, 3) and out.joints3d.shape == (1, 1, 21, 3)
    assert out.faces.shape == (3196, 3) and out.joints2d.shape == (1, 1, 21, 2)
    assert sf.hand_model == "openhand" and sf.mano_derived_keys == ()
    assert sf.state_dict()["joint_regressor"].shape == (21, 1609)
    mf = handzoo.load("h2onet-openhand", pretrained=False)
    out = mf(_images(3), boxes=[box] * 3)
    assert out.vertices.shape == (1, 1, 1609, 3)
    assert out.extras["finger_occlusion_prob"].shape == (1, 1, 5)


def test_box_rule():
    """H2ONet's crop box: 1.5x joint box (30 x 60 centred at 50, 70), sanitized (-1 px), made square."""
    from handzoo_h2onet.preprocess import h2onet_box

    b = h2onet_box(np.array([[40.0, 50.0], [60.0, 90.0]]), 640, 480)
    np.testing.assert_allclose(b[2], b[3])
    np.testing.assert_allclose(b[2], 59.0)
    np.testing.assert_allclose(b[:2] + b[2:] / 2, [35.0 + 29.0 / 2, 40.0 + 59.0 / 2])
    assert h2onet_box(np.array([[5.0, 5.0], [5.0, 5.0]]), 64, 48).tolist() == [0, 0, 63, 47]


def test_a_model_pickled_after_inference_gives_the_same_output(sf_model):
    """torch.save(model) / multiprocessing pickle the whole model: no local functions in it, and the
    loaded copy's hand model still regresses joints with the copy's own joint regressor."""
    import pickle

    img = _images(1)[0]
    with torch.inference_mode():
        ref = sf_model(img)
    twin = pickle.loads(pickle.dumps(sf_model))
    assert twin.hand.joint_regressor is twin.joint_regressor
    with torch.inference_mode():
        out = twin(img)
    assert torch.equal(out.joints3d, ref.joints3d) and torch.equal(out.vertices, ref.vertices)
