"""``pil_resize_crops`` reproduces Pillow's bilinear resize of uint8 crops bit for bit (up- and
downscaling, non-square boxes, several images of different sizes, two resizes in a row)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from handzoo.errors import InputError
from handzoo.imaging.pil_resize import pil_resize_crops


def test_equals_pillow():
    rng = np.random.default_rng(3)
    ims = [
        rng.integers(0, 256, (int(rng.integers(60, 300)), int(rng.integers(60, 300)), 3), dtype=np.uint8)
        for _ in range(3)
    ]
    boxes, idx, refs = [], [], []
    for t in range(8):
        i = int(rng.integers(0, 3))
        h, w = ims[i].shape[:2]
        s = int(rng.integers(5, min(h, w)))
        x0, y0 = int(rng.integers(0, w - s)), int(rng.integers(0, h - s))
        b = [x0, y0, x0 + s, y0 + (s if t % 3 else max(1, s // 2))]
        boxes.append(b)
        idx.append(i)
        p = Image.fromarray(np.ascontiguousarray(ims[i][b[1] : b[3] + 1, b[0] : b[2] + 1]))
        refs.append(np.asarray(p.resize((96, 96), Image.BILINEAR).resize((64, 64), Image.BILINEAR)))
    out = pil_resize_crops([torch.from_numpy(im).permute(2, 0, 1) for im in ims], boxes, (96, 64), image_index=idx)
    assert out.dtype == torch.uint8
    assert torch.equal(out, torch.from_numpy(np.stack(refs)).permute(0, 3, 1, 2))


def test_rejects_empty_boxes():
    with pytest.raises(InputError):
        pil_resize_crops([torch.zeros(3, 8, 8, dtype=torch.uint8)], [[4, 4, 2, 6]], (4,))
