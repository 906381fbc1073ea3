"""Parity with the authors' DIGIT code on deterministic weights (golden fixtures).

One float64 and one float32 forward over three crops: the two seeded crops and the crop the
pipeline makes from the seeded image and its two-hand box. float64 must agree to 1e-8; float32
within the authors' own float32 noise floor (their output change under a 1e-6 relative input
perturbation, ``floor32_*`` in the fixture).

The exact path (``fuse_inference=False``) runs the authors' operators in their order. The default
inference plan runs the same operators and oneDNN kernels in oneDNN's blocked layout (BatchNorm
as a depthwise convolution with the batch norm's own scale and shift, the kernels PyTorch picks
for the whole batch, the MLPs on the whole batch), so it equals the exact path bit for bit.
PyTorch picks some kernels by thread count (1x1 convolutions on one thread), so both equal the
authors' float32 outputs, recorded with two threads, bit for bit with two threads and within
their floor with one. The opt-in NHWC plan (BatchNorm folded, channels-last kernels) rounds
differently and is held to two floors.
"""

from __future__ import annotations

import digit_testutils as tu
import numpy as np
import pytest
import torch

ATOL64 = 1e-8


def _net_outputs(out: dict[str, torch.Tensor], rows: slice) -> dict[str, np.ndarray]:
    o = {
        "joint_coord": out["joints25d"],
        "zval": out["joints25d"][..., 2],
        "rel_root_depth": out["rel_root_bin"],
        "root_heatmap1d": out["root_logits"],
        "hand_type_logits": out["hand_logits"],
        "hand_type": out["hand_prob"],
        "hm_2d_sub": out["heatmaps"][:, :, ::8, ::8],
        "hm_2d_sum": out["heatmaps"].sum((2, 3)),
        "segm_logits_sub": out["segm_logits"][:, :, ::8, ::8],
        "segm_logits_sum": out["segm_logits"].sum((2, 3)),
    }
    return {k: v[rows].detach().double().numpy() for k, v in o.items()}


@pytest.fixture(scope="module")
def pipeline(digit_model):
    """Our preprocessing of the seeded image with its two-hand box, K and root depths."""
    from handzoo.query import make_query

    q = make_query(
        tu.pipeline_image(),
        boxes=[tu.PIPE_BOX],
        K=np.array(tu.PIPE_K),
        root_depth=tu.PIPE_ROOT_DEPTH,
    )
    return digit_model.preprocess(q)


@pytest.fixture(scope="module")
def outputs(digit_model, pipeline) -> dict:
    """float64 and float32 forwards over [seeded crop 0, seeded crop 1, pipeline crop]."""
    batch, _ = pipeline
    x = torch.cat([tu.seeded_crops(2), batch["img"]])
    res = {}
    chunk = digit_model.inference_chunk
    digit_model.inference_chunk = 2  # the float32 inference plan runs 2 + 1 images
    for dt in (torch.float64, torch.float32):
        digit_model.to(dt)
        with torch.inference_mode():
            res[dt] = digit_model({"img": x.to(dt)})
    digit_model.to(torch.float32)
    digit_model.inference_chunk = chunk
    digit_model.fuse_inference = False  # the parts as they are (no BatchNorm folding, NCHW)
    try:
        with torch.inference_mode():
            res["exact32"] = digit_model({"img": x})
    finally:
        digit_model.fuse_inference = True
    digit_model.inference_plan = "nhwc"
    try:
        with torch.inference_mode():
            res["nhwc32"] = digit_model({"img": x})
    finally:
        digit_model.inference_plan = "authors"
    return res


def test_inputs_are_the_fixtures_inputs(golden: dict, pipeline) -> None:
    assert float(tu.seeded_crops(2).double().sum()) == pytest.approx(float(golden["net_input_sum"][0]), abs=1e-6)
    batch, meta = pipeline
    crop = batch["img"][0]
    # the crop is bit-identical (uint8 warp with the authors' float32 matrices)
    np.testing.assert_array_equal(crop[:, ::8, ::8].numpy(), golden["pipe_crop_sub"])
    assert float(crop.double().sum()) == pytest.approx(float(golden["pipe_crop_sum"][0]), abs=1e-6)
    np.testing.assert_array_equal(meta["boxes"][0], golden["pipe_bbox"].astype(np.float32))
    np.testing.assert_array_equal(meta["inv_trans"][0], golden["pipe_inv_trans"])


@pytest.mark.parametrize(
    "key",
    [
        "joint_coord",
        "zval",
        "rel_root_depth",
        "root_heatmap1d",
        "hand_type_logits",
        "hand_type",
        "hm_2d_sub",
        "segm_logits_sub",
    ],
)
def test_network_float64(outputs: dict, golden: dict, key: str) -> None:
    ours = _net_outputs(outputs[torch.float64], slice(0, 2))[key]
    np.testing.assert_allclose(ours, golden["net64_" + key], rtol=0, atol=ATOL64)


def test_network_float64_sums_and_mask(outputs: dict, golden: dict) -> None:
    ours = _net_outputs(outputs[torch.float64], slice(0, 2))
    # sums over 64x64 / 128x128 maps of values ~1: 1e-8 relative
    for key in ("hm_2d_sum", "segm_logits_sum"):
        np.testing.assert_allclose(ours[key], golden["net64_" + key], rtol=1e-8, atol=1e-8)
    mask = outputs[torch.float64]["segm_logits"][:2].argmax(1).numpy()
    np.testing.assert_array_equal(mask, golden["net64_segm_mask"])


FLOAT32_KEYS = [
    "joint_coord",
    "rel_root_depth",
    "root_heatmap1d",
    "hand_type_logits",
    "hand_type",
    "hm_2d_sub",
    "segm_logits_sub",
]


@pytest.mark.parametrize("key", FLOAT32_KEYS)
def test_network_float32_within_noise_floor(outputs: dict, golden: dict, key: str) -> None:
    """The network as the authors run it (NCHW, BatchNorm as such): within their floor (in fact equal)."""
    ours = _net_outputs(outputs["exact32"], slice(0, 2))[key]
    floor = float(golden["floor32_" + key])
    assert np.abs(ours - golden["net32_" + key]).max() <= floor


@pytest.mark.parametrize("key", FLOAT32_KEYS)
def test_inference_plan_float32_within_the_noise_floor(outputs: dict, golden: dict, key: str) -> None:
    """The default inference plan departs from the authors' float32 outputs by at most their floor."""
    ours = _net_outputs(outputs[torch.float32], slice(0, 2))[key]
    floor = float(golden["floor32_" + key])
    assert np.abs(ours - golden["net32_" + key]).max() <= floor


def test_inference_plan_equals_the_exact_path(outputs: dict) -> None:
    """Bit for bit, over a batch of three run in chunks of two (kernels picked for the batch)."""
    plan, exact = outputs[torch.float32], outputs["exact32"]
    assert sorted(plan) == sorted(exact)
    for key in plan:
        assert torch.equal(plan[key], exact[key]), key


def test_inference_plan_on_two_threads_equals_the_exact_path(digit_model) -> None:
    """With two intra-op threads the plan runs one-image chunks side by side, one thread each,
    picking kernels as PyTorch does for the two-image batch on two threads (the authors' setting)."""
    plan, exact = tu.plan_and_exact_outputs(digit_model, tu.seeded_crops(2))
    for key in plan:
        assert torch.equal(plan[key], exact[key]), key


@pytest.mark.parametrize("key", FLOAT32_KEYS)
def test_nhwc_plan_float32_within_twice_the_noise_floor(outputs: dict, golden: dict, key: str) -> None:
    """The opt-in NHWC plan (BatchNorm folded, one rounding per weight; channels-last oneDNN
    convolutions) departs from the authors' float32 outputs by at most twice their own floor."""
    ours = _net_outputs(outputs["nhwc32"], slice(0, 2))[key]
    floor = float(golden["floor32_" + key])
    assert np.abs(ours - golden["net32_" + key]).max() <= 2 * floor


@pytest.mark.parametrize("key", FLOAT32_KEYS)
def test_inference_plan_float32_as_accurate_as_the_authors_float32(outputs: dict, golden: dict, key: str) -> None:
    """Against the authors' float64 outputs, the plan's float32 error is at most their own
    float32 error plus one noise floor."""
    ours = _net_outputs(outputs[torch.float32], slice(0, 2))[key]
    floor = float(golden["floor32_" + key])
    theirs = np.abs(golden["net32_" + key].astype(np.float64) - golden["net64_" + key]).max()
    assert np.abs(ours - golden["net64_" + key]).max() <= theirs + floor


def test_pipeline_float64(digit_model, outputs: dict, golden: dict, pipeline) -> None:
    """Crop -> network -> image space -> camera space, as the authors' evaluation (interacting)."""
    _, meta = pipeline
    raw = {k: v[2:] for k, v in outputs[torch.float64].items()}
    out = digit_model.postprocess(raw, meta)
    np.testing.assert_allclose(raw["joints25d"][0].numpy(), golden["pipe64_joint_coord"], rtol=0, atol=ATOL64)
    ih = np.asarray(tu.TO_HANDZOO21_INTERHAND)
    # 2.5D in image space: u, v pixels and z relative to each hand's root (mm in the fixture)
    theirs = golden["pipe64_joint_2p5_img"]
    for hand, sl in ((0, slice(0, 21)), (1, slice(21, 42))):
        ours = out.extras["joints25d"][0, hand].numpy()
        np.testing.assert_allclose(ours[:, :2], theirs[sl][ih, :2], rtol=0, atol=ATOL64)
        np.testing.assert_allclose(ours[:, 2] * 1000.0, theirs[sl][ih, 2], rtol=0, atol=1e-7)
        np.testing.assert_allclose(out.joints2d[0, hand].numpy(), theirs[sl][ih, :2], rtol=0, atol=ATOL64)
        # camera space (the left hand at the right depth plus the predicted relative depth)
        cam = golden["pipe64_joint_cam_mm"][sl][ih] / 1000.0
        np.testing.assert_allclose(out.joints3d[0, hand].numpy(), cam, rtol=0, atol=ATOL64)
    assert out.root_relative is False
    np.testing.assert_allclose(
        out.extras["rel_root"][0].numpy(), golden["pipe64_rel_root_mm"] / 1000.0, rtol=0, atol=ATOL64
    )
    np.testing.assert_allclose(out.score[0].numpy(), golden["pipe64_hand_type"], rtol=0, atol=ATOL64)
    np.testing.assert_array_equal(out.extras["segm_mask"][0].numpy(), golden["pipe64_segm_mask"])


def test_pipeline_float32_within_noise_floor(digit_model, outputs: dict, golden: dict, pipeline) -> None:
    _, meta = pipeline
    raw = {k: v[2:] for k, v in outputs["exact32"].items()}
    out = digit_model.postprocess(raw, meta)
    floor = float(golden["floor32_joint_coord"])
    np.testing.assert_array_less(
        np.abs(raw["joints25d"][0].double().numpy() - golden["pipe32_joint_coord"]), floor + 1e-12
    )
    ih = np.asarray(tu.TO_HANDZOO21_INTERHAND)
    # a heatmap unit is 4 crop pixels, i.e. 4 * box/256 image pixels: scale the floor accordingly
    px = floor * 4 * float(meta["boxes"][0][2]) / 256 + 1e-6
    for hand, sl in ((0, slice(0, 21)), (1, slice(21, 42))):
        np.testing.assert_array_less(
            np.abs(out.joints2d[0, hand].double().numpy() - golden["pipe32_joint_2p5_img"][sl][ih, :2]), px
        )
