"""``resize_linear_u8`` reproduces ``cv2.resize`` (INTER_LINEAR) of uint8 images bit for bit,
down- and upscaling, square and not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from handzoo.errors import InputError
from handzoo.imaging.cv2_resize import resize_linear_u8


@pytest.mark.parametrize(
    ("h", "w", "size"), [(500, 500, 384), (57, 64, 384), (300, 310, 224), (1000, 700, 224), (90, 90, 128)]
)
def test_equals_opencv(h, w, size):
    img = np.random.default_rng(h).integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = resize_linear_u8(torch.from_numpy(img).permute(2, 0, 1), (size, size))
    np.testing.assert_array_equal(out.permute(1, 2, 0).numpy(), cv2.resize(img, (size, size)))


def test_rejects_float_images():
    with pytest.raises(InputError):
        resize_linear_u8(torch.zeros(3, 8, 8), (4, 4))
