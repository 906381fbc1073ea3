"""The Method end to end: hub build on the open hand, crops, sides, camera placement, keypoints_from."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tdh_testutils as tu
import torch
from handzoo_3dhand.preprocess import HEATMAP_ORDER, crop_to_image, draw_heatmaps, image_to_crop, threedhand_box

from handzoo.errors import ConfigError, InputError
from handzoo.types import LEFT, RIGHT


@pytest.fixture(scope="module")
def open_models(tmp_path_factory):
    from handzoo.hub.load import load

    return {v: load(v, hand_model="openhand", pretrained=False) for v in ("3dhand-rgb", "3dhand-rgb2d")}


def test_both_variants_run_on_the_open_hand_untrained(open_models, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HANDZOO_MANO_DIR", str(tmp_path / "nothing-here"))
    image, joints = tu.seeded_image(), tu.seeded_joints2d()
    for name, model in open_models.items():
        out = model(image, joints2d=joints)
        assert out.joints3d.shape == (1, 1, 21, 3) and out.vertices.shape == (1, 1, 1609, 3), name
        assert out.mano["hand_pose"].shape == (1, 1, 45) and out.extras["hand_pose_pca"].shape == (1, 1, 6)
        assert out.root_relative and out.cam_t is None
        assert torch.isfinite(out.joints3d).all() and torch.isfinite(out.joints2d).all()
        torch.testing.assert_close(out.joints3d[0, 0, 0], torch.zeros(3))  # root-relative without K


def test_rgb2d_without_joints_says_what_to_do(open_models) -> None:
    with pytest.raises(InputError, match="joints2d"):
        open_models["3dhand-rgb2d"](tu.seeded_image(), boxes=[[60, 40, 150, 120]])


def test_box_rule_and_crop_maps() -> None:
    joints = np.array([[100.0, 100.0], [120.0, 110.0]])
    assert threedhand_box(joints, 320, 240).tolist() == [88, 83, 132, 127]  # side round(2.2 * 20) = 44
    x0, y0, x1, y1 = threedhand_box(np.array([[300.0, 10.0], [318.0, 20.0]]), 320, 240)
    assert x1 == 319 and y0 == 0 and x1 - x0 == 40  # shifted back inside
    x0, y0, x1, y1 = threedhand_box(np.array([[0.0, 0.0], [200.0, 200.0]]), 320, 240)
    assert (y0, y1) == (0, 239) and x1 - x0 == 239  # larger than the image: the short side
    with pytest.raises(InputError):
        threedhand_box(np.full((21, 2), np.nan), 320, 240)
    box = np.array([50, 40, 177, 167])
    pts = np.array([[60.25, 70.5], [150.0, 160.75]])
    back = crop_to_image(
        torch.as_tensor(image_to_crop(pts, box))[None], torch.as_tensor(box, dtype=torch.float64)[None]
    )
    np.testing.assert_allclose(back[0].numpy(), pts, atol=1e-12)
    # corners: the crop spans input pixels x0 - 0.5 .. x1 + 0.5
    np.testing.assert_allclose(image_to_crop(np.array([[49.5, 39.5]]), box), [[-0.5, -0.5]])


def test_heatmaps_peak_at_the_joints_in_the_authors_channel_order() -> None:
    uv = np.stack([np.arange(21) * 10.0 + 20.0, np.full(21, 128.0)], axis=1)
    maps = draw_heatmaps(uv)
    assert maps.shape == (21, 256, 256) and maps.max() <= 1.0
    for c, joint in enumerate(HEATMAP_ORDER):
        y, x = np.unravel_index(np.argmax(maps[c]), maps[c].shape)
        assert (x, y) == (int(uv[joint, 0]), 128)


def test_left_hand_is_the_mirror_of_the_right(rgb_model) -> None:
    image = tu.seeded_image()
    joints = tu.seeded_joints2d()
    w = image.shape[1]
    mirrored = np.ascontiguousarray(image[:, ::-1])
    joints_m = joints.copy()
    joints_m[:, 0] = w - 1 - joints[:, 0]
    right = rgb_model(image, joints2d=joints, sides="right")
    left = rgb_model(mirrored, joints2d=joints_m, sides="left")
    assert left.side.tolist() == [[LEFT]] and right.side.tolist() == [[RIGHT]]
    flip = torch.tensor([-1.0, 1.0, 1.0])
    torch.testing.assert_close(left.joints3d, right.joints3d * flip, rtol=0, atol=1e-6)
    torch.testing.assert_close(left.joints2d[..., 0], (w - 1) - right.joints2d[..., 0], rtol=0, atol=2e-3)
    aa_flip = torch.tensor([1.0, -1.0, -1.0])  # a mirrored rotation: (x, -y, -z)
    torch.testing.assert_close(left.mano["global_orient"], right.mano["global_orient"] * aa_flip, rtol=0, atol=1e-5)


def test_mano_parameters_reproduce_the_mesh(rgb_model) -> None:
    hm = rgb_model.hand_model
    out = rgb_model(tu.seeded_image(), joints2d=tu.seeded_joints2d())
    from handzoo.handmodels import hand_model

    full = hand_model(
        "mano", mano_dir=rgb_model_mano_dir(rgb_model), flat_hand_mean=False, tip_vertex_ids=hm.tip_vertex_ids
    )
    verts, joints = full(out.mano["global_orient"][0], out.mano["hand_pose"][0], out.mano["betas"][0])
    verts = verts + out.extras["transl"][0][:, None]
    wrist = (joints + out.extras["transl"][0][:, None])[:, :1]
    torch.testing.assert_close(verts - wrist, out.vertices[0], rtol=0, atol=1e-5)


def rgb_model_mano_dir(model) -> str:
    return model._test_mano_dir


@pytest.fixture(autouse=True)
def _remember_mano_dir(rgb_model, mano_dir):
    rgb_model._test_mano_dir = str(mano_dir)


def test_camera_placement_with_K(rgb_model) -> None:
    image, joints = tu.seeded_image(), tu.seeded_joints2d()
    K = np.array([[500.0, 0.0, 160.0], [0.0, 480.0, 120.0], [0.0, 0.0, 1.0]])
    out = rgb_model(image, joints2d=joints, K=K)
    assert not out.root_relative and out.cam_t.shape == (1, 1, 3)
    # the model's origin (the weak-perspective centre) projects exactly where the crop camera puts it
    t = out.cam_t[0, 0].double()
    origin = (torch.as_tensor(K) @ t)[:2] / t[2]
    box = out.extras["crop_boxes"][0].double()
    expected = crop_to_image(out.extras["trans"][0].double()[:, None], box)[0, 0]
    torch.testing.assert_close(origin, expected, rtol=0, atol=1e-4)  # float32 model
    torch.testing.assert_close(
        out.vertices[0, 0] - out.joints3d[0, 0, :1], rgb_model(image, joints2d=joints).vertices[0, 0]
    )
    tz = out.cam_t[0, 0, 2]
    c = (out.extras["crop_boxes"][0, 0, 2] - out.extras["crop_boxes"][0, 0, 0] + 1) / 256
    torch.testing.assert_close(tz, torch.sqrt(torch.tensor(500.0 * 480.0)) / (c * out.extras["scale"][0, 0]))


def test_boxes_without_joints_and_several_hands(rgb_model) -> None:
    image = tu.seeded_image()
    boxes = [np.array([[60.0, 40.0, 150.0, 120.0], [170.0, 90.0, 260.0, 200.0]]), np.zeros((0, 4))]
    out = rgb_model([image, image], boxes=boxes, sides=[["right", "left"], []])
    assert out.joints3d.shape == (2, 2, 21, 3)
    assert out.valid.tolist() == [[True, True], [False, False]]
    assert out.side[0].tolist() == [RIGHT, LEFT]
    whole = rgb_model(image)  # no box, no joints: the whole image (its short side) is the crop
    assert whole.extras["crop_boxes"][0, 0].tolist() == [40.0, 0.0, 279.0, 239.0]


def test_keypoints_from_another_model(open_models) -> None:
    from handzoo_3dhand.model import ThreeDHand

    source = open_models["3dhand-rgb"]
    model = ThreeDHand(hand_model="openhand", with_heatmaps=True, keypoints_from=source).eval()
    image = tu.seeded_image()
    box = [[60.0, 40.0, 150.0, 120.0]]
    expected = source(image, boxes=box).joints2d
    batch, meta = model.preprocess(model.make_query(image, boxes=box))
    np.testing.assert_allclose(meta["crops"].joints2d, expected[0].double().numpy(), atol=1e-5)
    assert batch["img"].shape == (1, 24, 256, 256)
    out = model(image, boxes=box)
    assert out.valid.tolist() == [[True]]


def test_bad_configurations() -> None:
    from handzoo_3dhand.model import ThreeDHand, build_hand_model

    with pytest.raises(ConfigError, match="PCA"):
        build_hand_model({"type": "openhand", "use_pca": False})
    with pytest.raises(ConfigError, match="right-hand"):
        build_hand_model({"type": "openhand", "side": "left"})
    with pytest.raises(ConfigError, match="unknown hand model"):
        build_hand_model("smplx")
    with pytest.raises(ConfigError, match="channels"):
        ThreeDHand(hand_model="openhand", with_heatmaps=True, backbone={"type": "ThreeDHandResNet"})
    model = ThreeDHand(hand_model="openhand").eval()
    with pytest.raises(InputError, match="256"):
        model({"img": torch.zeros(1, 3, 224, 224)})


def test_missing_mano_is_reported(tmp_path, monkeypatch) -> None:
    from handzoo.errors import HandzooError
    from handzoo.hub.load import load

    monkeypatch.setenv("HANDZOO_MANO_DIR", str(tmp_path / "nothing-here"))
    with pytest.raises(HandzooError, match="MANO"):
        load("3dhand-rgb", hand_model="mano", pretrained=False)


def test_losses_are_registered_and_built(rgb_model) -> None:
    losses = rgb_model.losses()
    assert set(losses) == {"pretrain", "train"}


def test_plugin_entry_point_is_light() -> None:
    code = "import sys, handzoo_3dhand as p; p.handzoo_model_cards(); p.handzoo_converters(); print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("variant", "tree"), [("3dhand-rgb", "RGB_ARCHITECTURE"), ("3dhand-rgb2d", "RGB2D_ARCHITECTURE")]
)
def test_cards_hold_the_architecture_trees(variant: str, tree: str) -> None:
    import json

    import handzoo_3dhand.model as m

    from handzoo.variants import model_info

    def norm(x):
        return json.loads(json.dumps(x, default=list))

    assert norm(dict(model_info(variant).architecture)) == norm(getattr(m, tree))


def test_the_trunk_swaps_from_a_config() -> None:
    """Any registered backbone giving a stride-32 map fits (here core's TimmBackbone, ResNet-18)."""
    from handzoo.registry import build

    cfg = {
        "type": "ThreeDHand",
        "backbone": {"type": "TimmBackbone", "name": "resnet18", "out_indices": [4]},
        "hand_model": "openhand",
    }
    model = build("methods", cfg).eval()
    out = model(tu.seeded_image(), boxes=[[60.0, 40.0, 150.0, 120.0]], sides="left")
    assert out.joints3d.shape == (1, 1, 21, 3) and out.side.tolist() == [[LEFT]]
    assert torch.isfinite(out.vertices).all()
