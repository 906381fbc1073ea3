"""SMHR's parts, decoding, letterbox and the open-hand multi-hand model (no MANO, no weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from handzoo_smhr.decode import decode_translation, nms, project, topk_centers, virtual_intrinsics
from handzoo_smhr.heads import SMHRHeads, gather_cells
from handzoo_smhr.neck import CSPNeck
from handzoo_smhr.preprocess import letterbox, normalize_bgr

from handzoo.errors import ConfigError, InputError
from handzoo.interfaces import Detections


def test_nms_keeps_local_maxima_and_top_k_orders_them() -> None:
    heat = torch.zeros(1, 1, 12, 12)
    heat[0, 0, 2, 3] = 0.9
    heat[0, 0, 2, 4] = 0.8  # suppressed by its neighbour
    heat[0, 0, 9, 9] = 0.7
    heat[0, 0, 9, 6] = 0.6  # 3 cells away: outside the 5x5 window
    scores, ind = topk_centers(nms(heat, 5), 3)
    assert ind.tolist() == [[2 * 12 + 3, 9 * 12 + 9, 9 * 12 + 6]]
    np.testing.assert_allclose(scores.numpy(), [[0.9, 0.7, 0.6]], rtol=1e-6)


def test_translation_decoding_is_the_virtual_camera() -> None:
    code = torch.tensor([[1.5, -2.0, 0.1]], dtype=torch.float64)
    ind = torch.tensor([5 * 56 + 7])
    t = decode_translation(code, ind, map_width=56, down_ratio=4, input_size=224)
    tz = 0.9
    np.testing.assert_allclose(t.numpy(), [[tz * (1.5 + 28 - 112) / 512, tz * (-2.0 + 20 - 112) / 512, tz]])
    # the translation projects to the cell corner plus the code's pixel offset
    uv = project(t[:, None], virtual_intrinsics(224))[0, 0]
    np.testing.assert_allclose(uv.numpy(), [28 + 1.5, 20 - 2.0])


@pytest.mark.parametrize("hw", [(30, 50), (50, 30), (40, 40)])
def test_letterbox_pads_top_right_in_bgr_and_maps_back(hw: tuple[int, int]) -> None:
    h, w = hw
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[h - 1, 0] = (255, 0, 0)  # a red pixel at the bottom-left corner
    net, lb = letterbox(img, 64)
    s = max(h, w)
    assert lb.pad_top == s - h and lb.side == s
    # red is channel 2 of the BGR network image, at the bottom-left of the square
    assert net[-1, 0, 2] > 0 and net[-1, 0, 0] == 0
    # the map back to input pixels inverts cv2.resize's pixel-centre convention
    A = lb.to_input()
    for x_net in (0.0, 31.5, 63.0):
        x_in = A[0, 0] * x_net + A[0, 2]
        assert x_in == pytest.approx((x_net + 0.5) * s / 64 - 0.5)
    y_in = A[1, 1] * 63.0 + A[1, 2]
    assert y_in == pytest.approx((63.5) * s / 64 - 0.5 - (s - h))


def test_normalisation_uses_rgb_ordered_imagenet_statistics_on_bgr() -> None:
    bgr = np.full((1, 1, 3), 255, dtype=np.uint8)
    out = normalize_bgr(bgr)[0, 0]
    np.testing.assert_allclose(out, (1 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]), rtol=1e-6)


def test_sparse_heads_equal_dense_heads_at_the_cells() -> None:
    torch.manual_seed(0)
    heads = SMHRHeads(["hm", "params", "light", "handmap"], in_channels=16, mid_channels=8).double()
    for p in heads.parameters():
        torch.nn.init.normal_(p, std=0.3)
    feat = torch.randn(2, 16, 7, 9, dtype=torch.float64)
    ind = torch.tensor([[0, 62], [8, 30]])  # corners and an inner cell
    dense = heads(feat)
    sparse = heads.at(feat, ind, ["params", "light", "handmap"])
    for name, v in sparse.items():
        torch.testing.assert_close(v, gather_cells(dense[name], ind), rtol=0, atol=1e-12)


def test_fast_neck_equals_the_plain_layers() -> None:
    torch.manual_seed(0)
    neck = CSPNeck((8, 16, 32), channels=8).double().eval()
    for m in neck.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_()
    # stride 8, 16, 32 maps of a 32-pixel input: all three branches give 8 x 8
    feats = [torch.randn(2, c, s, s, dtype=torch.float64) for c, s in ((8, 4), (16, 2), (32, 1))]
    slow = neck(feats)  # grad enabled: plain layers
    with torch.inference_mode():
        fast = neck(feats)
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def multihand_openhand():
    from handzoo.hub.load import load

    return load("smhr-multihand", hand_model="openhand", pretrained=False)


@pytest.fixture(scope="module")
def synthetic_two_hands() -> np.ndarray:
    from handzoo.datasets.synth.scene import HandSynthesizer, SynthConfig

    synth = HandSynthesizer(SynthConfig(image_size=192, two_hand_prob=1.0, forearm_prob=0.0, supersample=1))
    sample = synth.generate(seed=3, index=0)
    assert len(sample.side) == 2
    return np.ascontiguousarray(sample.image[:, :160])  # non-square: padded on top


def test_load_multihand_openhand_returns_several_hands(multihand_openhand, synthetic_two_hands) -> None:
    model = multihand_openhand
    out = model([synthetic_two_hands, synthetic_two_hands[:100]])
    assert out.joints3d.shape == (2, 4, 21, 3) and out.joints2d.shape == (2, 4, 21, 2)
    assert out.vertices.shape == (2, 4, 1609, 3) and out.faces.shape[1] == 3
    assert out.side.shape == (2, 4) and set(out.side.unique().tolist()) <= {0, 1}
    assert out.score.shape == (2, 4) and bool(((out.score > 0) & (out.score < 1)).all())
    assert out.valid.all()  # score_threshold 0: every top-K centre is a hand, as the authors decode
    assert out.mano["hand_pose"].shape == (2, 4, 45) and out.cam_t.shape == (2, 4, 3)
    assert torch.isfinite(out.joints3d).all() and torch.isfinite(out.joints2d).all()
    assert {"K", "boxes", "centers", "handedness"} <= set(out.extras)
    # each image's sides come from its own left/right probabilities (not image 0's, as in the demo)
    hand = out.extras["handedness"]
    torch.testing.assert_close(out.side, (hand[..., 0] > hand[..., 1]).long())
    # 2D joints are the projections of the camera-space joints with the input-image intrinsics
    torch.testing.assert_close(project(out.joints3d, out.extras["K"]), out.joints2d)
    # openhand has 1609 vertices: the 778-vertex texture head gives no colours
    assert "vertex_colors" not in out.extras and out.extras["texture"].shape == (2, 4, 2334)


def test_multihand_is_a_hand_detector(synthetic_two_hands) -> None:
    from handzoo.hub.load import load

    model = load("smhr-multihand", hand_model="openhand", pretrained=False, input_size=128)  # small and quick
    dets = model.detect([synthetic_two_hands])
    assert len(dets) == 1 and isinstance(dets[0], Detections) and len(dets[0]) == 4
    d = dets[0]
    h, w = synthetic_two_hands.shape[:2]
    assert (d.boxes[:, 0] <= d.boxes[:, 2]).all() and (d.boxes[:, 2] <= w).all() and (d.boxes[:, 3] <= h).all()
    model.score_threshold = 1.0  # nothing passes: no detections
    assert len(model.detect(synthetic_two_hands)[0]) == 0


def test_bad_inputs_and_configs(multihand_openhand) -> None:
    with pytest.raises(InputError):
        multihand_openhand(np.zeros((10, 10), dtype=np.float32) + 7.0)
    with pytest.raises(InputError):
        multihand_openhand({"img": torch.zeros(1, 3, 100, 100)})
    from handzoo_smhr.model import SMHR

    with pytest.raises(ConfigError):
        SMHR(hand_model="openhand", input_size=200, backbone={"type": "SMHRResNetTrunk", "name": "resnet18"})


def test_missing_mano_says_where_to_put_it(tmp_path, monkeypatch) -> None:
    from handzoo_smhr.model import SMHR

    from handzoo.errors import HandzooError

    monkeypatch.setenv("HANDZOO_MANO_DIR", str(tmp_path / "nothing"))
    with pytest.raises(HandzooError, match="MANO"):
        SMHR(hand_model="mano", backbone={"type": "SMHRResNetTrunk", "name": "resnet18"})


def test_vertex_normal_table_handles_lonely_and_busy_vertices() -> None:
    from handzoo_smhr.decode import adjacent_faces, vertex_normals_sh

    # a fan of 10 triangles around vertex 0 (more than the authors' 8) and a vertex on no face
    ring = [(0, i, i % 10 + 1) for i in range(1, 11)]
    table = adjacent_faces(np.array(ring), num_vertices=12)
    assert table.shape == (12, 10) and sorted(table[0].tolist()) == list(range(10))
    assert (table[11] == 10).all()  # the zero-normal row
    assert table[1].tolist() == [0, 9, 0, 9, 0, 9, 0, 9, 0, 9]  # short rows repeat cyclically
    angles = torch.linspace(0, 2 * np.pi, 11)[:-1]
    verts = torch.cat(
        [torch.zeros(1, 3), torch.stack([angles.cos(), angles.sin(), torch.zeros(10)], 1), torch.ones(1, 3)]
    )
    n = vertex_normals_sh(verts[None].double(), torch.as_tensor(ring), torch.as_tensor(table))[0]
    torch.testing.assert_close(n[0].abs(), torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    assert float(n[11].norm()) == 0.0


def test_trunk_inference_in_chunks_equals_the_whole_batch() -> None:
    from handzoo_smhr.backbone import TimmResNetTrunk

    torch.manual_seed(0)
    trunk = TimmResNetTrunk(name="resnet18").eval()
    x = torch.randn(3, 3, 384, 448)  # 2^18 // (384 * 448) = 1: three chunks
    with torch.inference_mode():
        chunked = trunk(x)
        whole = trunk.body(x)
    for a, b in zip(chunked, whole):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_features_of_a_large_batch_in_chunks_equal_the_whole_batch() -> None:
    from handzoo_smhr.model import SMHR

    torch.manual_seed(0)
    model = SMHR(backbone={"type": "SMHRResNetTrunk", "name": "resnet18"}, hand_model="openhand", input_size=384).eval()
    x = torch.randn(2, 3, 384, 384)  # 2^18 // 384^2 = 1: one image per chunk
    with torch.inference_mode():
        chunked = model.features(x)
        whole = model.neck(list(model.backbone.body(x)))  # trunk and neck on both images at once
    torch.testing.assert_close(chunked, whole, rtol=1e-6, atol=1e-6)
