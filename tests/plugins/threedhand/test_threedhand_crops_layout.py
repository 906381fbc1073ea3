"""Host crops in channels-last memory and heatmaps drawn block by block: the same numbers as whole maps."""

from __future__ import annotations

import numpy as np
import tdh_testutils as tu
import torch
from handzoo_3dhand.preprocess import (
    CROP_SIZE,
    DEFAULT_HEATMAP_SIGMA,
    HEATMAP_ORDER,
    crop_hand,
    draw_heatmaps,
    image_to_crop,
    make_crops,
    threedhand_box,
)

from handzoo.types import LEFT, RIGHT


def _whole_maps(
    uv: np.ndarray, size: int = CROP_SIZE, sigma: float = DEFAULT_HEATMAP_SIGMA, quantize: bool = True
) -> np.ndarray:
    """Every pixel of every map computed, then quantised (the reference the block drawing must equal)."""
    uv = np.asarray(uv, dtype=np.float64)[list(HEATMAP_ORDER)]
    grid = np.arange(size, dtype=np.float64)
    gx = np.exp(-((grid[None, :] - uv[:, :1]) ** 2) / (2.0 * sigma**2))
    gy = np.exp(-((grid[None, :] - uv[:, 1:2]) ** 2) / (2.0 * sigma**2))
    maps = gy[:, :, None] * gx[:, None, :]
    return (np.floor(maps * 255.0) / 255.0 if quantize else maps).astype(np.float32)


def test_block_heatmaps_equal_the_whole_maps_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    # inside, on the border, just outside and far outside the crop; integer and fractional pixels
    uv = rng.uniform(-40.0, CROP_SIZE + 40.0, size=(21, 2))
    uv[:4] = [[0.0, 0.0], [255.0, 255.0], [-0.5, 128.25], [300.0, -60.0]]
    ref = _whole_maps(uv)
    for sigma in (DEFAULT_HEATMAP_SIGMA, 1.0, 20.0):
        np.testing.assert_array_equal(draw_heatmaps(uv, sigma=sigma), _whole_maps(uv, sigma=sigma))
    np.testing.assert_array_equal(draw_heatmaps(uv), ref)
    np.testing.assert_array_equal(draw_heatmaps(uv, channels_last=True), ref.transpose(1, 2, 0))
    # into a mirrored view of a larger buffer
    buf = np.full((CROP_SIZE, CROP_SIZE, 24), 7.0, dtype=np.float32)
    draw_heatmaps(uv, channels_last=True, out=buf[:, ::-1, 3:])
    np.testing.assert_array_equal(buf[:, ::-1, 3:], ref.transpose(1, 2, 0))
    assert (buf[..., :3] == 7.0).all()
    # non-finite joints take the whole-map path (NaN maps, as before)
    bad = uv.copy()
    bad[5] = np.nan
    assert np.isnan(draw_heatmaps(bad)).any()
    # unquantised maps are the plain Gaussians
    np.testing.assert_array_equal(draw_heatmaps(uv, quantize=False), _whole_maps(uv, quantize=False))


def test_host_crops_are_channels_last_and_equal_the_planar_construction() -> None:
    image = tu.seeded_image(height=240, width=320)
    joints = np.stack([tu.seeded_joints2d(seed=s, center=(100.0 + 60 * s, 120.0)) for s in range(3)])
    sides = np.array([RIGHT, LEFT, RIGHT])
    for with_heatmaps in (False, True):
        crops = make_crops([image], None, [joints], [sides], with_heatmaps=with_heatmaps)
        x = crops.images
        assert x.shape == (3, 24 if with_heatmaps else 3, CROP_SIZE, CROP_SIZE)
        assert x.is_contiguous(memory_format=torch.channels_last)
        for k in range(3):
            box = threedhand_box(joints[k], image.shape[1], image.shape[0])
            planes = [(crop_hand(image, box).astype(np.float32) / 255.0).transpose(2, 0, 1)]
            if with_heatmaps:
                planes.append(draw_heatmaps(image_to_crop(joints[k], box)))
            ref = np.concatenate(planes, axis=0)
            if sides[k] == LEFT:
                ref = ref[:, :, ::-1]
            np.testing.assert_array_equal(x[k].numpy(), ref)


def test_channels_last_crops_give_the_planar_crops_outputs(rgb_model) -> None:
    image, joints = tu.seeded_image(), tu.seeded_joints2d()
    batch, _ = rgb_model.preprocess(rgb_model.make_query(image, joints2d=joints))
    assert batch["img"].is_contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        a = rgb_model(batch)["vertices"]
        b = rgb_model({"img": batch["img"].contiguous()})["vertices"]
    assert torch.equal(a, b)
