"""The device crop (``warp_crops_torch``, grid_sample) equals the OpenCV crop (``warp_crop``) to
1e-4 in [0, 1] units; run here on CPU tensors (the same code runs on a GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handzoo.imaging.transforms import crop_matrix, invert_affine, warp_crop, warp_crops_torch

CASES = [  # image, xywh box, flip, rotation (degrees)
    (0, [10.0, 5.0, 60.0, 70.0], False, 0.0),
    (1, [-5.0, -5.0, 40.0, 30.0], True, 0.0),  # partly outside: black border
    (0, [80.5, 40.25, 70.0, 80.0], True, 17.0),
    (1, [0.0, 0.0, 50.0, 60.0], False, -30.0),
]


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (97, 131, 3), dtype=np.uint8), rng.integers(0, 256, (60, 50, 3), dtype=np.uint8)]


@pytest.mark.parametrize("out_size", [(64, 48), 128])
def test_device_crops_equal_opencv_crops(out_size):
    imgs = _images()
    res = [warp_crop(imgs[i].astype(np.float32), box, out_size, flip=f, rot=r) for i, box, f, r in CASES]
    ref = torch.from_numpy(np.stack([r.image for r in res])).permute(0, 3, 1, 2) / 255.0
    tensors = [torch.from_numpy(im).permute(2, 0, 1) for im in imgs]
    out = warp_crops_torch(tensors, np.stack([r.inverse for r in res]), out_size, image_index=[c[0] for c in CASES])
    assert out.dtype == torch.float32 and out.shape == ref.shape
    assert (out / 255.0 - ref).abs().max() < 1e-4


def test_crop_matrix_is_warp_crops_transform():
    img = _images()[0]
    for _, box, flip, rot in CASES:
        res = warp_crop(img, box, 32, flip=flip, rot=rot)
        np.testing.assert_array_equal(crop_matrix(img.shape[1], box, 32, flip=flip, rot=rot), res.transform)


def test_batched_tensor_input_one_crop_per_image():
    imgs = [_images()[0]] * 2
    inv = np.stack(
        [
            invert_affine(crop_matrix(131, [10.0, 5.0, 60.0, 70.0], 40)),
            invert_affine(crop_matrix(131, [3.0, 9.0, 90.0, 50.0], 40, flip=True)),
        ]
    )
    batch = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2)
    ref = warp_crops_torch(list(batch), inv, 40)
    torch.testing.assert_close(warp_crops_torch(batch, inv, 40), ref, rtol=0, atol=0)
