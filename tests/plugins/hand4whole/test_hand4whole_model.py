"""Hand4WholeHand: output shapes, left/right mirroring, cameras, padding and input errors."""

from __future__ import annotations

import h4w_testutils as tu
import numpy as np
import pytest
import torch

from handzoo.errors import AssetError, ConfigError, InputError
from handzoo.geometry.cameras import project_points
from handzoo.geometry.flip import flip_axis_angle
from handzoo.types import LEFT, RIGHT, HandOutput

IMAGE = tu.seeded_image()  # 240 x 320
H_IMG, W_IMG = IMAGE.shape[:2]
BOX = np.array([60.0, 40.0, 150.0, 120.0])


def _mirror_box(box: np.ndarray, width: int) -> np.ndarray:
    # pixel-inclusive mirror (the authors' boxes cover pixels x0 .. x1 - 1)
    return np.array([width - box[2], box[1], width - box[0], box[3]])


@pytest.fixture(scope="module")
def right_out(h4w_model) -> HandOutput:
    return h4w_model(IMAGE, boxes=[BOX])


def test_output_shapes(h4w_model, right_out: HandOutput) -> None:
    out = right_out
    assert out.joints3d.shape == (1, 1, 21, 3)
    assert out.joints2d.shape == (1, 1, 21, 2)
    assert out.vertices.shape == (1, 1, 778, 3)
    assert out.faces.shape == (1538, 3)
    assert out.mano["global_orient"].shape == (1, 1, 3)
    assert out.mano["hand_pose"].shape == (1, 1, 45)
    assert out.mano["betas"].shape == (1, 1, 10)
    assert out.cam_t.shape == (1, 1, 3)
    assert out.side.tolist() == [[RIGHT]] and out.valid.tolist() == [[True]] and out.score.tolist() == [[1.0]]
    assert not out.root_relative
    assert out.extras["K"].shape == (1, 1, 3, 3)
    assert torch.equal(out.extras["faces_left"], out.faces[:, [0, 2, 1]])
    assert not torch.is_inference_mode_enabled()


def test_joints_are_the_regressor_on_the_posed_mesh(h4w_model, right_out: HandOutput) -> None:
    verts = right_out.vertices[0, 0] - right_out.cam_t[0, 0]
    joints = h4w_model.joint_regressor @ verts + right_out.cam_t[0, 0]
    torch.testing.assert_close(right_out.joints3d[0, 0], joints, rtol=0, atol=1e-6)
    # the authors' tips (middle tip 445), in handzoo21 order: thumb4 is joint 4, pinky4 joint 20
    torch.testing.assert_close(right_out.joints3d[0, 0, 4], right_out.vertices[0, 0, 745], rtol=0, atol=1e-7)
    torch.testing.assert_close(right_out.joints3d[0, 0, 12], right_out.vertices[0, 0, 445], rtol=0, atol=1e-7)
    torch.testing.assert_close(right_out.joints3d[0, 0, 20], right_out.vertices[0, 0, 673], rtol=0, atol=1e-7)


def test_joints2d_project_the_3d_joints_onto_the_input_image(right_out: HandOutput) -> None:
    K = right_out.extras["K"][0, 0]
    box = right_out.extras["crop_boxes"][0, 0]  # x0, y0, x1, y1 of the 1.25x square crop
    assert K[0, 0].item() == pytest.approx(5000 * (box[2] - box[0]).item() / 256)
    assert K[0, 2].item() == pytest.approx(((box[0] + box[2]) / 2).item())
    torch.testing.assert_close(right_out.joints2d[0, 0], project_points(right_out.joints3d[0, 0], K))


def test_left_hand_is_the_mirror_of_the_right_hand(h4w_model, right_out: HandOutput) -> None:
    mirrored = np.ascontiguousarray(IMAGE[:, ::-1])
    left = h4w_model(mirrored, boxes=[_mirror_box(BOX, W_IMG)], sides=["left"])
    assert left.side.tolist() == [[LEFT]]
    r, lo = right_out, left
    flip = torch.tensor([-1.0, 1.0, 1.0])
    torch.testing.assert_close(lo.vertices, r.vertices * flip, rtol=0, atol=1e-5)
    torch.testing.assert_close(lo.joints3d, r.joints3d * flip, rtol=0, atol=1e-5)
    torch.testing.assert_close(lo.cam_t, r.cam_t * flip, rtol=0, atol=1e-5)
    torch.testing.assert_close(lo.joints2d[..., 0], W_IMG - 1 - r.joints2d[..., 0], rtol=0, atol=1e-3)
    torch.testing.assert_close(lo.joints2d[..., 1], r.joints2d[..., 1], rtol=0, atol=1e-3)
    torch.testing.assert_close(lo.mano["global_orient"], flip_axis_angle(r.mano["global_orient"]), rtol=0, atol=1e-5)
    torch.testing.assert_close(lo.mano["hand_pose"], flip_axis_angle(r.mano["hand_pose"]), rtol=0, atol=1e-5)
    torch.testing.assert_close(lo.mano["betas"], r.mano["betas"], rtol=0, atol=1e-5)
    torch.testing.assert_close(lo.extras["joint_img"], r.extras["joint_img"], rtol=0, atol=1e-5)


def test_real_camera_equal_to_the_virtual_one_changes_nothing(h4w_model, right_out: HandOutput) -> None:
    K = right_out.extras["K"][0, 0]
    out = h4w_model(IMAGE, boxes=[BOX], K=K.numpy())
    torch.testing.assert_close(out.joints3d, right_out.joints3d, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.joints2d, right_out.joints2d, rtol=0, atol=1e-3)


def test_real_camera_keeps_the_wrist_pixel_and_image_size(h4w_model, right_out: HandOutput) -> None:
    K = np.array([[600.0, 0, 150.0], [0, 620.0, 130.0], [0, 0, 1]])
    out = h4w_model(IMAGE, boxes=[BOX], K=K)
    torch.testing.assert_close(out.joints2d[0, 0, 0], right_out.joints2d[0, 0, 0], rtol=0, atol=1e-3)
    Kv = right_out.extras["K"][0, 0]
    ratio = np.sqrt(600.0 * 620.0) / torch.sqrt(Kv[0, 0] * Kv[1, 1]).item()
    assert out.joints3d[0, 0, 0, 2].item() == pytest.approx(right_out.joints3d[0, 0, 0, 2].item() * ratio, rel=1e-5)
    # the hand is only translated
    rel = out.joints3d - out.joints3d[:, :, :1]
    torch.testing.assert_close(rel, right_out.joints3d - right_out.joints3d[:, :, :1], rtol=0, atol=1e-5)
    torch.testing.assert_close(out.joints2d[0, 0], project_points(out.joints3d[0, 0], torch.as_tensor(K).float()))
    torch.testing.assert_close(out.extras["K"][0, 0], torch.as_tensor(K).float())


def test_batch_is_padded_over_hands(h4w_model, right_out: HandOutput) -> None:
    boxes = [np.stack([BOX, _mirror_box(BOX, W_IMG)]), np.zeros((0, 4)), [BOX]]
    out = h4w_model([IMAGE, IMAGE, IMAGE], boxes=boxes, sides=[["right", "left"], [], [0]])
    assert out.joints3d.shape == (3, 2, 21, 3)
    assert out.valid.tolist() == [[True, True], [False, False], [True, False]]
    assert out.side.tolist() == [[RIGHT, LEFT], [RIGHT, RIGHT], [RIGHT, RIGHT]]
    assert out.score.tolist() == [[1.0, 1.0], [0.0, 0.0], [1.0, 0.0]]
    torch.testing.assert_close(out.joints3d[0, 0], right_out.joints3d[0, 0], rtol=0, atol=1e-5)
    torch.testing.assert_close(out.joints3d[2, 0], right_out.joints3d[0, 0], rtol=0, atol=1e-5)
    assert torch.all(out.joints3d[1] == 0) and torch.all(out.joints3d[2, 1] == 0)


def test_no_boxes_means_the_whole_image_is_one_hand(h4w_model) -> None:
    crop = np.ascontiguousarray(IMAGE[40:140, 100:200])
    a = h4w_model(crop)
    b = h4w_model(crop, boxes=[[0, 0, 100, 100]])
    assert a.joints3d.shape == (1, 1, 21, 3)
    torch.testing.assert_close(a.joints3d, b.joints3d, rtol=0, atol=0)


def test_no_hand_at_all(h4w_model) -> None:
    out = h4w_model(IMAGE, boxes=[np.zeros((0, 4))])
    assert out.joints3d.shape == (1, 0, 21, 3) and out.vertices.shape == (1, 0, 778, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"boxes": [[400.0, 300.0, 500.0, 400.0]]}, "outside"),
        ({"boxes": [[1.0, 2.0, 3.0]]}, r"\(N, 4\)"),
        ({"boxes": [[float("nan"), 0.0, 10.0, 10.0]]}, "NaN"),
        ({"boxes": [BOX], "sides": ["up"]}, "right"),
        ({"boxes": [np.stack([BOX, BOX])], "sides": [["left"] * 3]}, "sides"),
        ({"boxes": [BOX], "K": np.eye(2)}, "K must be"),
        ({"boxes": [BOX], "K": np.zeros((3, 3))}, "focal"),
    ],
)
def test_bad_inputs_raise_input_errors(h4w_model, kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        h4w_model(IMAGE, **kwargs)


def test_bad_images_and_batches_raise_input_errors(h4w_model) -> None:
    with pytest.raises(InputError):
        h4w_model(np.zeros((10, 10, 7), dtype=np.uint8))
    with pytest.raises(InputError, match="batch\\['img'\\]"):
        h4w_model({"img": torch.zeros(1, 3, 128, 128)})
    with pytest.raises(InputError, match="do not fit"):
        h4w_model([IMAGE, IMAGE], boxes=np.zeros((3, 4)))


def test_unknown_hand_model_and_missing_mano(tmp_path) -> None:
    from handzoo_hand4whole.model import Hand4WholeHand

    with pytest.raises(ConfigError, match="hand model"):
        Hand4WholeHand(hand_model="smplx")
    with pytest.raises(AssetError):
        Hand4WholeHand(hand_model="mano", mano_dir=tmp_path)


def test_left_hand_model_is_refused(mano_dir) -> None:
    from handzoo_hand4whole.model import Hand4WholeHand

    from handzoo.handmodels import hand_model

    with pytest.raises(ConfigError, match="right-hand"):
        Hand4WholeHand(hand_model=hand_model("mano", side="left", mano_dir=mano_dir))


def test_registered_and_built_from_config(mano_dir) -> None:
    from handzoo_hand4whole.model import Hand4WholeHand

    from handzoo.registry import LOSSES, METHODS, build

    model = build("methods", {"type": "Hand4WholeHand", "hand_model": "mano", "mano_dir": str(mano_dir)})
    assert isinstance(model, Hand4WholeHand)
    assert METHODS.get("Hand4WholeHand") is Hand4WholeHand
    assert LOSSES.get("Hand4WholeLoss") is not None
    assert set(model.losses()) == {"hand4whole"}


def test_openhand_uses_the_same_network_and_weights(h4w_model) -> None:
    from handzoo_hand4whole.model import Hand4WholeHand

    model = Hand4WholeHand(hand_model="openhand").eval()
    assert model.state_dict().keys() == h4w_model.state_dict().keys()
    model.load_state_dict(h4w_model.state_dict(), strict=True)
    out = model(IMAGE, boxes=[np.stack([BOX, _mirror_box(BOX, W_IMG)])], sides=[["right", "left"]])
    assert out.vertices.shape == (1, 2, 1609, 3) and out.faces.shape == (3196, 3)
    assert torch.isfinite(out.joints3d).all() and torch.isfinite(out.joints2d).all()
    tips = model.hand_model.tip_vertex_ids
    torch.testing.assert_close(out.joints3d[0, 0, 4], out.vertices[0, 0, tips[0]], rtol=0, atol=1e-7)
    # the network part is the hand model's business only after the pose: same MANO parameters
    ref = h4w_model(IMAGE, boxes=[np.stack([BOX, _mirror_box(BOX, W_IMG)])], sides=[["right", "left"]])
    torch.testing.assert_close(out.mano["hand_pose"], ref.mano["hand_pose"], rtol=0, atol=1e-5)
    torch.testing.assert_close(out.cam_t, ref.cam_t, rtol=0, atol=1e-5)


def test_inference_backbone_folds_batchnorm_and_follows_weight_changes() -> None:
    from handzoo_hand4whole.backbone import ResNetBackbone

    torch.manual_seed(0)
    net = ResNetBackbone("resnet18").eval()
    for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.normal_(0, 0.1)
        bn.running_var.uniform_(0.5, 1.5)
    x = torch.rand(2, 3, 64, 64)
    exact = net(x)[0]  # autograd on: the plain modules
    with torch.no_grad():
        fused = net(x)[0]
        assert net._fused_cache  # the folded copy was used
        torch.testing.assert_close(fused, exact, rtol=1e-4, atol=1e-5)
        net.bn1.weight.mul_(2.0)  # new weights must not be served from a stale copy
        changed = net(x)[0]
    torch.testing.assert_close(changed, net(x)[0], rtol=1e-4, atol=1e-5)
    assert not torch.allclose(changed, fused)
    assert all(k.split(".")[0] in ("conv1", "bn1", "layer1", "layer2", "layer3", "layer4") for k in net.state_dict())


def test_inference_backbone_runs_on_weights_converted_inside_inference_mode() -> None:
    from handzoo_hand4whole.backbone import ResNetBackbone

    torch.manual_seed(0)
    net = ResNetBackbone("resnet18").eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        ref = net(x)[0]
        net = net.double().float()  # inference tensors: no in-place counter to key the plan on
        assert next(net.parameters()).is_inference()
        torch.testing.assert_close(net(x)[0], ref, rtol=0, atol=0)


def test_box_rule() -> None:
    """Hand4Whole's crop box: clipped, made square, enlarged 1.25x."""
    from handzoo_hand4whole.preprocess import hand4whole_box

    np.testing.assert_allclose(hand4whole_box([10.0, 10.0, 21.0, 41.0], 640, 480)[2:], [50.0, 50.0])
    assert hand4whole_box([700.0, 10.0, 5.0, 5.0], 640, 480) is None
