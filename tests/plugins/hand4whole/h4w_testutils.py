"""Deterministic stand-ins shared by the Hand4Whole tests and the parity-fixture generator.

Everything here is generated from fixed seeds, so the authors' code (run once, outside the
repository, to record the golden outputs) and handzoo's tests see bit-identical inputs:

* a random MANO stand-in pickle in MANO's array layout (no MANO data is used or needed);
* the deterministic weights rule: one ``torch.Generator`` per *authors'* state-dict key, seeded
  with ``zlib.crc32(key)``;
* seeded input crops and a seeded synthetic image with two hand boxes.
"""

from __future__ import annotations

import math
import pickle
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).parent / "fixtures"
MANO_SEED = 1234
NUM_VERTS = 778
NUM_FACES = 1538
# MANO's kinematic tree (wrist; index, middle, pinky, ring, thumb chains of three joints).
MANO_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)


def mano_standin_arrays(seed: int = MANO_SEED, side: str = "right") -> dict:
    """Random arrays in the layout of ``MANO_{RIGHT,LEFT}.pkl`` (plain numpy, sparse J_regressor)."""
    import scipy.sparse

    rng = np.random.default_rng(seed + (0 if side == "right" else 1))
    v_template = rng.normal(0.0, 0.03, (NUM_VERTS, 3))
    shapedirs = rng.normal(0.0, 2e-3, (NUM_VERTS, 3, 10))
    posedirs = rng.normal(0.0, 2e-3, (NUM_VERTS, 3, 135))
    reg = np.zeros((16, NUM_VERTS))
    for j in range(16):
        idx = rng.choice(NUM_VERTS, size=12, replace=False)
        w = rng.random(12) + 0.1
        reg[j, idx] = w / w.sum()
    weights = rng.random((NUM_VERTS, 16)) ** 4
    weights /= weights.sum(1, keepdims=True)
    kintree = np.array([[2**32 - 1 if p < 0 else p for p in MANO_PARENTS], list(range(16))], dtype=np.int64)
    faces = rng.integers(0, NUM_VERTS, (NUM_FACES, 3)).astype(np.uint32)
    comps, _ = np.linalg.qr(rng.normal(size=(45, 45)))
    return {
        "v_template": v_template,
        "shapedirs": shapedirs,
        "posedirs": posedirs,
        "J_regressor": scipy.sparse.csc_matrix(reg),
        "J": reg @ v_template,
        "weights": weights,
        "kintree_table": kintree,
        "f": faces,
        "hands_components": comps,
        "hands_coeffs": rng.normal(0.0, 0.1, (1554, 45)),
        "hands_mean": rng.normal(0.0, 0.2, 45),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


def write_mano_standin(folder: str | Path, seed: int = MANO_SEED) -> Path:
    """Write ``MANO_RIGHT.pkl`` and ``MANO_LEFT.pkl`` stand-ins into ``folder`` and return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for side in ("right", "left"):
        with open(folder / f"MANO_{side.upper()}.pkl", "wb") as f:
            pickle.dump(mano_standin_arrays(seed, side), f, protocol=2)
    return folder


def read_key_shapes(path: str | Path | None = None) -> dict[str, tuple[int, ...]]:
    """Read the authors' ``key<TAB>shape`` list recorded from their model."""
    path = Path(path) if path else FIXTURES / "authors_keys.txt"
    out: dict[str, tuple[int, ...]] = {}
    for line in path.read_text().splitlines():
        key, shape = line.split("\t")
        out[key] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    return out


def authors_tensor(key: str, shape: tuple[int, ...], bn_prefixes: Iterable[str]) -> torch.Tensor:
    """The deterministic value of one authors' state-dict entry.

    One generator per key, seeded by ``zlib.crc32(key)``; scales keep activations of order one
    through the 50 layers (BatchNorm running variances are positive).
    """
    g = torch.Generator().manual_seed(zlib.crc32(key.encode("utf-8")))
    prefix, _, leaf = key.rpartition(".")
    if leaf == "num_batches_tracked":
        return torch.tensor(0, dtype=torch.long)
    if prefix in set(bn_prefixes):
        if leaf == "running_var":
            return 0.8 + 0.4 * torch.rand(shape, generator=g)
        if leaf == "running_mean":
            return 0.02 * torch.randn(shape, generator=g)
        if leaf == "weight":
            # damp the last BN of residual branches so activations do not double per block
            low = 0.4 if prefix.endswith(("bn3", "downsample.1")) else 0.8
            return low + 0.4 * torch.rand(shape, generator=g)
        return 0.02 * torch.randn(shape, generator=g)
    if leaf == "bias":
        return 0.05 * torch.randn(shape, generator=g)
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
    # convolutions: He init; linear output layers: small, so betas and camera stay plausible
    gain = math.sqrt(2.0) if len(shape) == 4 else 0.1
    return torch.randn(shape, generator=g) * (gain / math.sqrt(fan_in))


def authors_state_dict(key_shapes: Mapping[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """Deterministic weights for every key of the authors' model (keys without ``module.``)."""
    bn = {k.rsplit(".", 1)[0] for k in key_shapes if k.endswith(".running_var")}
    return {k: authors_tensor(k, s, bn) for k, s in key_shapes.items()}


def seeded_crops(batch: int = 2, seed: int = 7) -> torch.Tensor:
    """Network inputs: (batch, 3, 256, 256) float32 in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand((batch, 3, 32, 32), generator=g)
    # smooth-ish images (upsampled noise) plus fine noise: closer to real crops than white noise
    up = torch.nn.functional.interpolate(base, size=(256, 256), mode="bilinear", align_corners=False)
    return (0.8 * up + 0.2 * torch.rand((batch, 3, 256, 256), generator=g)).clamp(0, 1)


def seeded_image(seed: int = 11, height: int = 240, width: int = 320) -> np.ndarray:
    """A synthetic RGB uint8 image (height, width, 3)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8, width // 8, 3)).astype(np.float32)
    big = np.kron(small, np.ones((8, 8, 1), dtype=np.float32))
    noise = rng.integers(-20, 21, (height, width, 3)).astype(np.float32)
    return np.clip(big + noise, 0, 255).astype(np.uint8)


# Hand boxes (xyxy, pixels) of the pipeline-parity image, and their sides (0 right, 1 left).
PIPELINE_BOXES = np.array([[60.0, 40.0, 150.0, 120.0], [170.5, 90.25, 260.0, 200.0]], dtype=np.float32)
PIPELINE_SIDES = (0, 1)
