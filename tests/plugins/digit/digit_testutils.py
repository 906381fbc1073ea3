"""Deterministic inputs shared by the DIGIT tests and the parity-fixture generator.

Everything is generated from fixed seeds, so the authors' code (run once, outside the
repository, to record the golden outputs) and handzoo's tests see bit-identical inputs:

* the weights rule: one ``torch.Generator`` per *authors'* state-dict key (``pose_reg.*``),
  seeded with ``zlib.crc32(key)``; scales keep every activation away from saturation;
* seeded 256x256 crops and a seeded synthetic image with one box around both hands.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import torch

from handzoo.geometry.joint_orders import TO_HANDZOO21

TO_HANDZOO21_INTERHAND = TO_HANDZOO21["interhand"]

FIXTURES = Path(__file__).parent / "fixtures"
BN_GAMMA = 0.45
HEAD_GAIN = 1.6
OUTPUT_GAIN = 10.0
FC_OUTPUT_GAIN = 1.5
# the pipeline image: (H, W), the box around both hands (x0, y0, x1, y1), intrinsics, root depths (m)
PIPE_SIZE = (240, 320)
PIPE_BOX = (96.0, 52.0, 230.0, 170.0)
PIPE_K = ((500.0, 0.0, 161.0), (0.0, 505.0, 118.0), (0.0, 0.0, 1.0))
PIPE_ROOT_DEPTH = (0.62, 0.655)  # right, left


def read_key_shapes(path: Path | None = None) -> list[tuple[str, tuple[int, ...]]]:
    """The authors' state-dict keys and shapes (``fixtures/authors_keys.txt``)."""
    out = []
    for line in (path or FIXTURES / "authors_keys.txt").read_text().splitlines():
        if not line.strip():
            continue
        key, shape = line.split(" ", 1)
        out.append((key, tuple(int(s) for s in shape.strip("[] ").split(",") if s.strip())))
    return out


def seeded_tensor(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The deterministic value of one authors' parameter or buffer (float32; int64 counters)."""
    if key.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.int64)
    g = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    if key.endswith("running_mean"):
        return 0.1 * torch.randn(shape, generator=g)
    if key.endswith("running_var"):
        return 0.5 + torch.rand(shape, generator=g)
    if len(shape) == 1:  # biases and BatchNorm affine parameters
        base = BN_GAMMA if key.endswith(".weight") else 0.0
        return base + 0.1 * torch.randn(shape, generator=g)
    fan_in = int(np.prod(shape[1:]))
    return torch.randn(shape, generator=g) * (_gain(key) / math.sqrt(fan_in))


# prediction layers get a larger gain so that heatmaps, depth bins and logits are not flat
_OUTPUT_LAYERS = ("conv_hm.", "conv_depth.", "segm_net.double_conv.3.")
_FC_OUTPUT_LAYERS = ("root_fc.2.", "hand_fc.2.")


def _gain(key: str) -> float:
    if ".backbone." in key:
        return 1.0
    if any(p in key for p in _FC_OUTPUT_LAYERS):
        return FC_OUTPUT_GAIN
    if any(p in key for p in _OUTPUT_LAYERS):
        return OUTPUT_GAIN
    return HEAD_GAIN


def authors_state_dict(key_shapes: Iterable[tuple[str, tuple[int, ...]]] | None = None) -> dict[str, torch.Tensor]:
    """The authors' state dict (``pose_reg.*`` keys) under the weights rule."""
    return {k: seeded_tensor(k, s) for k, s in (key_shapes or read_key_shapes())}


def lightning_checkpoint(state: Mapping[str, torch.Tensor]) -> dict:
    """The layout of the authors' PyTorch Lightning dumps: ``model.`` prefix under ``state_dict``."""
    return {
        "epoch": 3,
        "global_step": 1200,
        "pytorch-lightning_version": "0.9.0",
        "state_dict": {f"model.{k}": v for k, v in state.items()},
        "optimizer_states": [],
        "lr_schedulers": [],
    }


def seeded_image(seed: int, size: tuple[int, int]) -> np.ndarray:
    """A smooth random RGB uint8 image (H, W, 3): low-frequency colour blobs plus noise."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for _ in range(6):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        s = rng.uniform(0.1, 0.4) * max(h, w)
        amp = rng.uniform(-1, 1, 3)
        img += amp * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))[..., None]
    img = 128 + 90 * np.tanh(img) + rng.normal(0, 12, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def seeded_crops(n: int = 2) -> torch.Tensor:
    """``n`` network inputs (n, 3, 256, 256) float32 in [0, 1], as the authors' ToTensor()/255."""
    ims = [seeded_image(100 + i, (256, 256)) for i in range(n)]
    return torch.from_numpy(np.stack(ims).astype(np.float32)).permute(0, 3, 1, 2).contiguous() / 255.0


def pipeline_image() -> np.ndarray:
    """The seeded full image of the pipeline fixture."""
    return seeded_image(7, PIPE_SIZE)


def seeded_loss_inputs(b: int = 4) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """float64 predictions and targets for the loss fixture (``losses.npz``), from a fixed seed.

    Returns ``(output, targets)`` in handzoo's names; ``targets['segm3']`` is the authors'
    3-channel segmentation target (channel 0 is the label image).
    """
    g = torch.Generator().manual_seed(2024)
    d = torch.float64
    out = {
        "joints25d": torch.rand(b, 42, 3, generator=g, dtype=d) * 64,
        "rel_root_bin": torch.rand(b, generator=g, dtype=d) * 64,
        "hand_logits": torch.randn(b, 2, generator=g, dtype=d),
        "segm_logits": torch.randn(b, 33, 16, 16, generator=g, dtype=d),
    }
    segm = torch.randint(0, 33, (b, 16, 16), generator=g)
    tgt = {
        "joints25d": torch.rand(b, 42, 3, generator=g, dtype=d) * 64,
        "joint_valid": (torch.rand(b, 42, generator=g, dtype=d) > 0.25).to(d),
        "rel_root_bin": torch.rand(b, generator=g, dtype=d) * 64,
        "root_valid": (torch.rand(b, generator=g, dtype=d) > 0.3).to(d),
        "hand_type": (torch.rand(b, 2, generator=g, dtype=d) > 0.4).to(d),
        "hand_type_valid": (torch.rand(b, generator=g, dtype=d) > 0.2).to(d),
        "segm": segm,
        "segm3": torch.stack([segm, segm, segm], 1),
        "segm_valid": (torch.rand(b, generator=g, dtype=d) > 0.3).to(d),
    }
    return out, tgt


def plan_and_exact_outputs(model: torch.nn.Module, x: torch.Tensor, threads: int = 2) -> tuple[dict, dict]:
    """``model({'img': x})`` in inference mode on ``threads`` intra-op threads, with its inference
    plan and with ``fuse_inference=False`` (the parts as they are); the thread count and the flag
    are restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            plan = model({"img": x})
            model.fuse_inference = False
            try:
                exact = model({"img": x})
            finally:
                model.fuse_inference = True
    finally:
        torch.set_num_threads(before)
    return plan, exact
