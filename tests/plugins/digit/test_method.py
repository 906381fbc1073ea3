"""DIGIT as a handzoo Method: input contract, outputs, box rules, depths, errors, building."""

from __future__ import annotations

import subprocess
import sys

import digit_testutils as tu
import numpy as np
import pytest
import torch

from handzoo.errors import InputError
from handzoo.types import LEFT, RIGHT


@pytest.fixture(scope="module")
def two_images_out(digit_model):
    """Two images of different sizes: one with a box, K and root depths, one bare."""
    images = [tu.pipeline_image(), tu.seeded_image(11, (200, 180))]
    return digit_model(
        images,
        boxes=[np.array([tu.PIPE_BOX]), np.zeros((0, 4))],
        K=[np.array(tu.PIPE_K), np.array(tu.PIPE_K)],
        root_depth=[tu.PIPE_ROOT_DEPTH, 0.5],
    )


def test_output_layout(two_images_out) -> None:
    out = two_images_out
    assert out.joints3d.shape == (2, 2, 21, 3) and out.joints2d.shape == (2, 2, 21, 2)
    assert out.side.tolist() == [[RIGHT, LEFT], [RIGHT, LEFT]]
    assert out.valid.all() and out.vertices is None and out.mano is None
    assert ((out.score >= 0) & (out.score <= 1)).all()
    assert out.root_relative is False
    ex = out.extras
    assert ex["segm_logits"].shape == (2, 33, 128, 128)
    assert ex["segm_mask"].shape == (2, 128, 128) and ex["segm_mask"].max() <= 32
    assert ex["segm_colour"].shape == (2, 128, 128, 3) and ex["segm_colour"].dtype == torch.uint8
    assert ex["joints25d"].shape == (2, 2, 21, 3) and ex["rel_root"].shape == (2, 3)
    torch.testing.assert_close(ex["hand_prob"], out.score)
    # background is black in the coloured mask
    bg = ex["segm_mask"] == 0
    assert (ex["segm_colour"][bg] == 0).all()


def test_depths_place_the_hands(two_images_out) -> None:
    out = two_images_out
    j = out.joints3d.double()
    rel = out.extras["rel_root_depth"].double()
    z = out.extras["joints25d"][..., 2].double()  # predicted depth relative to the hand's root
    # right hand at the given depth; the left at the right depth + the predicted relative depth
    torch.testing.assert_close(j[0, 0, :, 2], tu.PIPE_ROOT_DEPTH[0] + z[0, 0], atol=1e-6, rtol=0)
    torch.testing.assert_close(j[0, 1, :, 2], tu.PIPE_ROOT_DEPTH[0] + rel[0] + z[0, 1], atol=1e-6, rtol=0)
    torch.testing.assert_close(j[1, 0, :, 2], 0.5 + z[1, 0], atol=1e-6, rtol=0)
    # projecting the camera joints gives the 2D joints back
    K = torch.tensor(tu.PIPE_K, dtype=torch.float64)
    uv = (j[0] / j[0][..., 2:]) @ K.T
    torch.testing.assert_close(uv[..., :2], out.joints2d[0].double(), atol=1e-3, rtol=0)


def test_whole_image_without_box(digit_model, two_images_out) -> None:
    # image 1 had no box: the crop is the whole (padded square) image, 2D joints inside its square
    j2 = two_images_out.joints2d[1]
    side = 200.0
    assert (j2[..., 0] > (180 - side) / 2 - 1).all() and (j2[..., 0] < (180 + side) / 2 + 1).all()
    _, meta = digit_model.preprocess(_query(tu.seeded_image(11, (200, 180))))
    np.testing.assert_allclose(meta["boxes"][0], [-10.0, 0.0, 200.0, 200.0])


def _query(image, **kw):
    from handzoo.query import make_query

    return make_query(image, **kw)


def test_box_rules_and_roots(digit_model) -> None:
    """One box per hand is merged into the two-hand box; roots with sides give the depths."""
    img = tu.pipeline_image()
    right, left = [96.0, 60.0, 170.0, 170.0], [150.0, 52.0, 230.0, 150.0]
    _, m2 = digit_model.preprocess(
        _query(
            img, boxes=[right, left], sides=["right", "left"], K=np.array(tu.PIPE_K), root=[[0, 0, 0.62], [0, 0, 0.7]]
        )
    )
    _, m1 = digit_model.preprocess(_query(img, boxes=[tu.PIPE_BOX], K=np.array(tu.PIPE_K), root_depth=(0.62, 0.7)))
    np.testing.assert_array_equal(m1["boxes"], m2["boxes"])
    np.testing.assert_array_equal(m1["depths"], m2["depths"])
    # sides in the other order give the same depths
    _, m3 = digit_model.preprocess(
        _query(
            img, boxes=[left, right], sides=["left", "right"], K=np.array(tu.PIPE_K), root=[[0, 0, 0.7], [0, 0, 0.62]]
        )
    )
    np.testing.assert_array_equal(m3["depths"], m2["depths"])


def test_given_left_depth_and_root_relative(digit_model, two_images_out) -> None:
    raw_meta = digit_model.preprocess(
        _query(
            tu.pipeline_image(),
            boxes=[tu.PIPE_BOX],
            K=np.array(tu.PIPE_K),
            root_depth=(0.62, 0.7),
            use_given_depths=True,
        )
    )
    batch, meta = raw_meta
    with torch.inference_mode():
        raw = digit_model(batch)
    out = digit_model.postprocess(raw, meta)
    z = out.extras["joints25d"][0, 1, :, 2].double()
    torch.testing.assert_close(out.joints3d[0, 1, :, 2].double(), 0.7 + z, atol=1e-6, rtol=0)
    # without K or a depth: root-relative, wrists at the origin, 2D joints unchanged
    _, meta2 = digit_model.preprocess(_query(tu.pipeline_image(), boxes=[tu.PIPE_BOX]))
    out2 = digit_model.postprocess(raw, meta2)
    assert out2.root_relative is True
    assert out2.joints3d[:, :, 0].abs().max() == 0
    torch.testing.assert_close(out2.joints2d, out.joints2d)
    # the same crop in a batch of two (float32 kernels may differ in the last bits)
    torch.testing.assert_close(out.joints2d[0], two_images_out.joints2d[0], atol=1e-3, rtol=0)


def test_errors(digit_model) -> None:
    with pytest.raises(InputError, match="batch\\['img'\\]"):
        digit_model({"img": torch.zeros(1, 3, 128, 128)})
    with pytest.raises(InputError, match="root_depth"):
        digit_model.preprocess(_query([tu.pipeline_image()] * 2, root_depth=[0.5, 0.5, 0.5]))
    with pytest.raises(InputError, match="positive depth"):
        digit_model.preprocess(_query(tu.pipeline_image(), root_depth=-1.0))
    from handzoo_digit.preprocess import expand_box

    with pytest.raises(InputError, match="positive size"):
        expand_box(np.array([10.0, 10.0, 10.0, 30.0]))


def test_parts_are_registered_and_swappable() -> None:
    from handzoo.registry import BACKBONES, HEADS, LOSSES, METHODS, build, ensure_registered

    ensure_registered()
    assert METHODS.get("DIGIT") is not None and BACKBONES.get("DigitHRNet") is not None
    for name in ("DigitSegmHead", "DigitMerge", "DigitJointHead", "DigitRootHandHead"):
        assert HEADS.get(name) is not None
    for name in (
        "DigitLoss",
        "DigitJointLoss",
        "DigitRootDepthLoss",
        "DigitHandednessLoss",
        "DigitSegmentationLoss",
        "DigitBoneLoss",
    ):
        assert LOSSES.get(name) is not None
    head = build("heads", {"type": "DigitRootHandHead", "root_bins": 32})
    model = build("methods", {"type": "DIGIT", "root_hand_head": head, "losses": {"type": "DigitLoss"}})
    assert model.root_hand_head is head and model.root_bins == 32
    assert set(model.losses()) == {"digit"}


def test_load_from_card_without_weights_or_mano(monkeypatch, tmp_path) -> None:
    from handzoo.hub.load import load

    monkeypatch.setenv("HANDZOO_MANO_DIR", str(tmp_path / "nothing-here"))
    model = load("digit-interhand", pretrained=False, hand_model="openhand")
    assert type(model).__name__ == "DIGIT" and model.card.name == "digit-interhand"
    assert len(model.state_dict()) == 1903


def test_plugin_entry_point_is_light() -> None:
    code = (
        "import sys, handzoo_digit as p; p.handzoo_model_cards(); p.handzoo_converters(); print('torch' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"
