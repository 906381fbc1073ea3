"""Deterministic stand-ins shared by the SMHR tests and the parity-fixture generator.

Everything here is generated from fixed seeds, so the authors' code (run once, outside the
repository, to record the golden outputs) and handzoo's tests see bit-identical inputs:

* a random MANO stand-in pickle in MANO's array layout (no MANO data is used or needed), with
  values exactly representable in float32 (the authors' MANO layer casts to float32 first) and a
  face list in which every vertex lies on 1 to 8 faces (the authors' vertex normals need it);
* the deterministic weights rule: one ``torch.Generator`` per *authors'* state-dict key, seeded
  with ``zlib.crc32(key)``;
* seeded whole images: a small non-square one (single-hand model) and a wider one with two
  bright blobs (multi-hand model).
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
MANO_SEED = 4242
NUM_VERTS = 778
NUM_FACES = 1538
MANO_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)
# heads of the two released models (the single-hand model has no handedness head)
HEADS = {
    "freihand": ("hm", "params", "texture", "light"),
    "multihand": ("hm", "params", "texture", "light", "handmap"),
}


def _f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def standin_faces(seed: int = MANO_SEED) -> np.ndarray:
    """(1538, 3) triangles over 778 vertices, each vertex on 5 to 6 faces, no repeated corner."""
    rng = np.random.default_rng(seed + 17)
    slots = np.concatenate([np.arange(NUM_VERTS)] * 6)[: NUM_FACES * 3]
    while True:
        tri = rng.permutation(slots).reshape(NUM_FACES, 3)
        bad = (tri[:, 0] == tri[:, 1]) | (tri[:, 1] == tri[:, 2]) | (tri[:, 0] == tri[:, 2])
        if not bad.any():
            return tri.astype(np.uint32)


def mano_standin_arrays(seed: int = MANO_SEED, side: str = "right") -> dict:
    """Random arrays in the layout of ``MANO_{RIGHT,LEFT}.pkl`` (plain numpy, sparse J_regressor)."""
    import scipy.sparse

    rng = np.random.default_rng(seed + (0 if side == "right" else 1))
    v_template = rng.normal(0.0, 0.03, (NUM_VERTS, 3))
    if side == "left":
        v_template[:, 0] *= -1
    reg = np.zeros((16, NUM_VERTS))
    for j in range(16):
        idx = rng.choice(NUM_VERTS, size=12, replace=False)
        w = rng.random(12) + 0.1
        reg[j, idx] = w / w.sum()
    reg = _f32(reg)
    v_template = _f32(v_template)
    weights = rng.random((NUM_VERTS, 16)) ** 4
    weights /= weights.sum(1, keepdims=True)
    kintree = np.array([[2**32 - 1 if p < 0 else p for p in MANO_PARENTS], list(range(16))], dtype=np.int64)
    comps, _ = np.linalg.qr(rng.normal(size=(45, 45)))
    return {
        "v_template": v_template,
        "shapedirs": _f32(rng.normal(0.0, 2e-3, (NUM_VERTS, 3, 10))),
        "posedirs": _f32(rng.normal(0.0, 2e-3, (NUM_VERTS, 3, 135))),
        "J_regressor": scipy.sparse.csc_matrix(reg),
        "J": _f32(reg @ v_template),
        "weights": _f32(weights),
        "kintree_table": kintree,
        "f": standin_faces(seed),  # the same triangle list for both sides, as in MANO
        "hands_components": _f32(comps),
        "hands_coeffs": _f32(rng.normal(0.0, 0.1, (1554, 45))),
        "hands_mean": _f32(rng.normal(0.0, 0.2, 45)),
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


def read_key_shapes(variant: str = "multihand", path: str | Path | None = None) -> dict[str, tuple[int, ...]]:
    """The authors' ``key<TAB>shape`` list (recorded from their 384 multi-hand model).

    ``variant='freihand'`` drops the handedness head (the single-hand model has none).
    """
    path = Path(path) if path else FIXTURES / "authors_keys.txt"
    out: dict[str, tuple[int, ...]] = {}
    for line in path.read_text().splitlines():
        key, shape = line.split("\t")
        out[key] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    heads = HEADS[variant]
    return {k: s for k, s in out.items() if not (k.startswith("handmap.") and "handmap" not in heads)}


# scale of the last 1x1 convolution of each head: parameters of plausible size (axis-angle of a
# few tenths of a radian, translation code of a few centimetres), distinct heatmap peaks
_HEAD_OUT_GAIN = {"hm": 3.0, "params": 0.15, "texture": 0.1, "light": 0.1, "handmap": 2.0}


def authors_tensor(key: str, shape: tuple[int, ...], bn_prefixes: Iterable[str]) -> torch.Tensor:
    """The deterministic value of one authors' state-dict entry (one generator per key)."""
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
            low = 0.4 if prefix.endswith(("bn3", "downsample.1")) else 0.8
            return low + 0.4 * torch.rand(shape, generator=g)
        return 0.02 * torch.randn(shape, generator=g)
    if prefix.endswith("_l2"):  # L2Norm scales (initialised to 10 by the authors)
        return 10.0 + torch.randn(shape, generator=g)
    head, _, rest = key.partition(".")
    if leaf == "bias":
        if head == "hm" and rest.startswith("2."):
            return -2.0 + 0.1 * torch.randn(shape, generator=g)
        return 0.05 * torch.randn(shape, generator=g)
    if len(shape) == 4 and prefix in ("p3", "p4", "p5"):  # ConvTranspose2d: (in, out, k, k)
        fan_in = shape[0] * shape[2] * shape[3] // max(1, (shape[2] // 2) ** 2)
        return torch.randn(shape, generator=g) * math.sqrt(2.0 / fan_in)
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
    gain = _HEAD_OUT_GAIN.get(head, 1.0) if rest.startswith("2.") else math.sqrt(2.0)
    return torch.randn(shape, generator=g) * (gain / math.sqrt(fan_in))


def authors_state_dict(key_shapes: Mapping[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """Deterministic weights for every key of the authors' model (keys without ``module.``)."""
    bn = {k.rsplit(".", 1)[0] for k in key_shapes if k.endswith(".running_var")}
    return {k: authors_tensor(k, s, bn) for k, s in key_shapes.items()}


def write_authors_checkpoint(path: str | Path, state: Mapping[str, torch.Tensor], epoch: int = 30) -> Path:
    """A file in the authors' ``save_model`` format: ``{'epoch', 'state_dict', 'optimizer'}``."""
    path = Path(path)
    torch.save({"epoch": epoch, "state_dict": dict(state), "optimizer": {"state": {}, "param_groups": []}}, path)
    return path


def seeded_image(seed: int, height: int, width: int, blobs: int = 0) -> np.ndarray:
    """A synthetic RGB uint8 image: blocky noise, fine noise and ``blobs`` skin-coloured discs."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3)).astype(np.float32)
    big = np.kron(small, np.ones((8, 8, 1), dtype=np.float32))[:height, :width]
    img = 0.5 * big + rng.integers(-20, 21, (height, width, 3)).astype(np.float32)
    yy, xx = np.mgrid[:height, :width]
    for _ in range(blobs):
        cy, cx = rng.uniform(0.25, 0.75) * height, rng.uniform(0.2, 0.8) * width
        r = rng.uniform(0.1, 0.18) * min(height, width)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = (225.0, 180.0, 150.0)
    return np.clip(img, 0, 255).astype(np.uint8)


# the parity images: single-hand (taller than wide: padding on the right) and two-hand (wider
# than tall: padding on top)
IMAGE_FREIHAND = {"seed": 5, "height": 200, "width": 150, "blobs": 1}
IMAGE_MULTIHAND = {"seed": 6, "height": 260, "width": 330, "blobs": 2}
