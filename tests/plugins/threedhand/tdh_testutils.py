"""Deterministic stand-ins shared by the 3D-hand tests and the parity-fixture generator.

Everything is generated from fixed seeds, so the authors' network (run once, outside the
repository, to record the golden outputs) and handzoo's tests see bit-identical inputs:

* a random MANO stand-in pickle in MANO's array layout (no MANO data is used or needed);
* the deterministic weights rule: one ``torch.Generator`` per authors' state-dict key, seeded
  with ``zlib.crc32(key)``;
* seeded 24-channel network inputs (RGB + 21 heatmap-like channels) and a seeded image with
  2D joints for the whole pipeline.
"""

from __future__ import annotations

import math
import pickle
import warnings
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).parent / "fixtures"
MANO_SEED = 2019
NUM_VERTS = 778
NUM_FACES = 1538
# MANO's kinematic tree (wrist; index, middle, pinky, ring, thumb chains of three joints).
MANO_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)
# handzoo21 index of each joint of the authors' 21-joint output (MANO chains with the tips inserted)
AUTHORS21_TO_HANDZOO21 = (0, 5, 6, 7, 8, 9, 10, 11, 12, 17, 18, 19, 20, 13, 14, 15, 16, 1, 2, 3, 4)


def mano_standin_arrays(seed: int = MANO_SEED, side: str = "right") -> dict:
    """Random arrays in the layout of ``MANO_{RIGHT,LEFT}.pkl`` (plain numpy, sparse J_regressor).

    Values are float32-representable so float64 runs of float32-cast code agree exactly.
    """
    import scipy.sparse

    def f32(a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float32).astype(np.float64)

    rng = np.random.default_rng(seed + (0 if side == "right" else 1))
    v_template = rng.normal(0.0, 0.03, (NUM_VERTS, 3))
    reg = np.zeros((16, NUM_VERTS))
    for j in range(16):
        idx = rng.choice(NUM_VERTS, size=12, replace=False)
        w = rng.random(12) + 0.1
        reg[j, idx] = w / w.sum()
    weights = rng.random((NUM_VERTS, 16)) ** 4
    weights /= weights.sum(1, keepdims=True)
    kintree = np.array([[2**32 - 1 if p < 0 else p for p in MANO_PARENTS], list(range(16))], dtype=np.int64)
    comps, _ = np.linalg.qr(rng.normal(size=(45, 45)))
    reg = f32(reg)
    return {
        "v_template": f32(v_template),
        "shapedirs": f32(rng.normal(0.0, 2e-3, (NUM_VERTS, 3, 10))),
        "posedirs": f32(rng.normal(0.0, 2e-3, (NUM_VERTS, 3, 135))),
        "J_regressor": scipy.sparse.csc_matrix(reg),
        "J": reg @ f32(v_template),
        "weights": f32(weights),
        "kintree_table": kintree,
        "f": rng.integers(0, NUM_VERTS, (NUM_FACES, 3)).astype(np.uint32),
        "hands_components": f32(comps),
        "hands_coeffs": f32(rng.normal(0.0, 0.1, (1554, 45))),
        "hands_mean": f32(rng.normal(0.0, 0.2, 45)),
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
    """Read the authors' ``key<TAB>shape`` list (keys without the ``module.`` prefix)."""
    path = Path(path) if path else FIXTURES / "authors_keys.txt"
    out: dict[str, tuple[int, ...]] = {}
    for line in path.read_text().splitlines():
        key, shape = line.split("\t")
        out[key] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    return out


def authors_tensor(key: str, shape: tuple[int, ...], bn_prefixes: Iterable[str]) -> torch.Tensor:
    """The deterministic value of one authors' state-dict entry (seeded by ``zlib.crc32(key)``)."""
    g = torch.Generator().manual_seed(zlib.crc32(key.encode("utf-8")))
    prefix, _, leaf = key.rpartition(".")
    if leaf == "num_batches_tracked":
        return torch.tensor(0, dtype=torch.long)
    if prefix in set(bn_prefixes):
        if leaf == "running_var":
            return 0.8 + 0.4 * torch.rand(shape, generator=g, dtype=torch.float32)
        if leaf == "running_mean":
            return 0.02 * torch.randn(shape, generator=g, dtype=torch.float32)
        if leaf == "weight":
            low = 0.4 if prefix.endswith(("bn2", "downsample.1")) and prefix != "bn2" else 0.8
            return low + 0.4 * torch.rand(shape, generator=g, dtype=torch.float32)
        return 0.02 * torch.randn(shape, generator=g, dtype=torch.float32)
    if leaf == "bias":
        return 0.05 * torch.randn(shape, generator=g, dtype=torch.float32)
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
    # convolutions: He init; the final linear layer: rotations of a few tenths of a radian
    gain = math.sqrt(2.0) if len(shape) == 4 else 0.3
    return torch.randn(shape, generator=g, dtype=torch.float32) * (gain / math.sqrt(fan_in))


def authors_state_dict(key_shapes: Mapping[str, tuple[int, ...]] | None = None) -> dict[str, torch.Tensor]:
    """Deterministic weights for every key of the authors' model (keys without ``module.``)."""
    key_shapes = key_shapes or read_key_shapes()
    bn = {k.rsplit(".", 1)[0] for k in key_shapes if k.endswith(".running_var")}
    return {k: authors_tensor(k, s, bn) for k, s in key_shapes.items()}


def seeded_inputs(batch: int = 2, seed: int = 7, size: int = 256) -> torch.Tensor:
    """Network inputs: (batch, 24, size, size) float32 in [0, 1] (RGB then 21 heatmap-like maps)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand((batch, 24, size // 8, size // 8), generator=g, dtype=torch.float32)
    up = torch.nn.functional.interpolate(base, size=(size, size), mode="bilinear", align_corners=False)
    return (0.8 * up + 0.2 * torch.rand((batch, 24, size, size), generator=g, dtype=torch.float32)).clamp(0, 1)


def seeded_map_inputs(batch: int = 2, seed: int = 13, size: int = 256, sigma: float = 4.87) -> torch.Tensor:
    """Model-1 inputs as the method's preprocessing makes them: the RGB of :func:`seeded_inputs`
    and 21 8-bit-quantised Gaussian heatmaps (peak 1, ``sigma`` pixels) of seeded joints spread
    over the crop's central 116 pixels (a 2.2x crop), one joint per image near a corner and one
    outside the crop (so blocks are clipped or missing). (batch, 24, size, size) float32."""
    rng = np.random.default_rng(seed)
    x = seeded_inputs(batch, size=size)
    grid = np.arange(size, dtype=np.float64)
    for n in range(batch):
        uv = size / 2 + rng.uniform(-58.0, 58.0, (21, 2))
        uv[3] = (2.0 + n, size - 4.0)  # clipped by the bottom-left corner
        uv[7] = (size + 30.0, 100.0)  # outside: an empty map
        gx = np.exp(-((grid[None, :] - uv[:, :1]) ** 2) / (2.0 * sigma**2))
        gy = np.exp(-((grid[None, :] - uv[:, 1:]) ** 2) / (2.0 * sigma**2))
        maps = np.floor(gy[:, :, None] * gx[:, None, :] * 255.0) / 255.0
        x[n, 3:] = torch.from_numpy(maps.astype(np.float32))
    return x


def seeded_image(seed: int = 11, height: int = 240, width: int = 320) -> np.ndarray:
    """A synthetic RGB uint8 image (height, width, 3)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8, width // 8, 3)).astype(np.float32)
    big = np.kron(small, np.ones((8, 8, 1), dtype=np.float32))
    noise = rng.integers(-20, 21, (height, width, 3)).astype(np.float32)
    return np.clip(big + noise, 0, 255).astype(np.uint8)


def seeded_joints2d(seed: int = 5, center: tuple[float, float] = (120.0, 110.0), spread: float = 30.0) -> np.ndarray:
    """Plausible-looking (21, 2) handzoo21 2D joints (pixels) around ``center``."""
    rng = np.random.default_rng(seed)
    return np.asarray(center) + rng.uniform(-spread, spread, (21, 2))


VARIANTS = {0: "3dhand-rgb", 1: "3dhand-rgb2d"}


def build_model(option: int, mano_dir: Path, authors_state: dict, dtype=None):
    """ThreeDHand for model-``option`` on the MANO stand-in with the converted weights (eval)."""
    from handzoo_3dhand.convert import convert_state_dict
    from handzoo_3dhand.model import ThreeDHand

    hm = {"type": "mano", "dtype": dtype or torch.float32}
    model = ThreeDHand(hand_model=hm, mano_dir=mano_dir, with_heatmaps=bool(option))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.load_state_dict(convert_state_dict(authors_state, VARIANTS[option]), strict=True)
    return model.eval()


def load_fixture(name: str) -> dict:
    with np.load(FIXTURES / name) as f:
        return {k: f[k] for k in f.files}
