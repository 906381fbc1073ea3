"""The hand model under ``torch.autocast``: LBS runs in float32 (no mixed-dtype index-put); the
hand model's result is the float32 one of the (reduced-precision) network outputs it is fed, to
0.1 mm (only its rest-joint product runs in reduced precision)."""

from __future__ import annotations

import pytest
import torch

from handzoo.handmodels import hand_model
from handzoo.handmodels.lbs import rigid_transforms


def _inputs(batch: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, 3, generator=g),
        torch.randn(batch, 45, generator=g) * 0.8,
        torch.randn(batch, 10, generator=g),
    )


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_mano_under_cpu_autocast_matches_float32(mano_dir, dtype):
    model = hand_model("mano", "right", mano_dir=mano_dir)
    go, hp, betas = (t.to(dtype) for t in _inputs(5))  # what a network under autocast hands over
    with torch.no_grad():
        ref_v, ref_j = model(go.float(), hp.float(), betas.float())
        with torch.autocast("cpu", dtype=dtype):
            v, j = model(go, hp, betas)
    assert v.dtype == torch.float32
    torch.testing.assert_close(v, ref_v, rtol=0, atol=1e-4)
    torch.testing.assert_close(j.float(), ref_j, rtol=0, atol=1e-4)


def test_rigid_transforms_mixed_dtypes_promote():
    g = torch.Generator().manual_seed(1)
    rot = torch.linalg.qr(torch.randn(2, 4, 3, 3, generator=g))[0]
    joints = torch.randn(2, 4, 3, generator=g)
    parents = (-1, 0, 1, 1)
    ref_t, ref_s = rigid_transforms(rot.bfloat16().float(), joints, parents)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        t, s = rigid_transforms(rot.bfloat16(), joints, parents)
    assert t.dtype == s.dtype == torch.float32
    torch.testing.assert_close(t, ref_t, rtol=0, atol=1e-6)
    torch.testing.assert_close(s, ref_s, rtol=0, atol=1e-6)
