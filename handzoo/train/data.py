"""Training data: pre-rendered shard folders, streamed datasets, and the method's transform.

A training set is a *source* of annotated samples (a shard folder written by
:mod:`handzoo.train.shards`, or any handzoo dataset such as the synthetic generator streamed
through DataLoader workers) followed by the method's *transform* (its crop, augmentation and
targets), which returns a dict of arrays that ``default_collate`` stacks.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from handzoo.errors import ConfigError, DatasetError
from handzoo.types import LEFT, RIGHT

__all__ = [
    "ShardSamples",
    "StreamSamples",
    "SceneSamples",
    "TrainingSet",
    "sample_to_record",
    "sample_to_scene",
    "build_source",
]

RECORD_KEYS = ("image", "K", "bbox", "side", "joints3d", "global_orient", "hand_pose", "betas")
# read too when a shard has them (the posed hand's camera-frame placement, for re-rendering it)
OPTIONAL_RECORD_KEYS = ("transl",)


class ShardSamples(Dataset):
    """The samples of one or more shard folders (``shard_*.npz``), held in memory.

    Args:
        roots: folder(s) written by ``python -m handzoo.train.shards``.
        limit: use only the first ``limit`` samples (all by default).
        watch: keep picking up shards that appear while training (a render still running):
            the dataset then has a fixed virtual length ``watch`` and index ``i`` reads sample
            ``i mod n`` of the ``n`` loaded so far; folders are re-scanned every 60 seconds.
    """

    def __init__(
        self,
        roots: str | os.PathLike | Sequence[str | os.PathLike],
        limit: int | None = None,
        watch: int | None = None,
    ) -> None:
        self.roots = [roots] if isinstance(roots, (str, os.PathLike)) else list(roots)
        self.limit = limit
        self.watch = int(watch) if watch else None
        self._load()

    def _scan(self) -> list[Path]:
        files: list[Path] = []
        for r in self.roots:
            r = Path(os.path.expanduser(str(r)))
            found = sorted(p for p in r.glob("shard_*.npz") if not p.name.endswith(".tmp.npz"))
            if not found:
                raise DatasetError(
                    f"no shard_*.npz files in {r}",
                    hint=f"render them first: python -m handzoo.train.shards --out {r} --n 20000",
                )
            files += found
        return files

    def _load(self) -> None:
        import time

        limit = self.limit
        files = self._scan()
        self.files = files
        self._scanned = time.monotonic()
        # one dict of arrays per shard (folders may differ in image size); index -> (shard, row)
        self._parts: list[dict[str, np.ndarray]] = []
        starts = [0]
        for f in files:
            with np.load(f) as z:
                part = {k: z[k] for k in RECORD_KEYS}
                part.update({k: z[k] for k in OPTIONAL_RECORD_KEYS if k in z.files})
                self._parts.append(part)
            starts.append(starts[-1] + int(self._parts[-1]["image"].shape[0]))
            if limit is not None and starts[-1] >= limit:
                break
        self._starts = starts
        n = starts[-1]
        self.n = n if limit is None else min(n, int(limit))

    def __len__(self) -> int:
        return self.watch if self.watch else self.n

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self.watch:
            import time

            if time.monotonic() - self._scanned > 60 and len(self._scan()) != len(self.files):
                self._load()
            index = int(index) % self.n
        elif not 0 <= index < self.n:
            raise IndexError(index)
        k = bisect.bisect_right(self._starts, index) - 1
        row = index - self._starts[k]
        return {key: v[row] for key, v in self._parts[k].items()}


def sample_to_record(sample: Any, hand: int = 0) -> dict[str, Any]:
    """One hand of a :class:`handzoo.types.Sample` with MANO-layout parameters as a training record.

    Raises:
        DatasetError: the sample lacks the parameters or joints training needs.
    """
    mano = sample.mano or {}
    if sample.joints3d is None or not all(k in mano for k in ("global_orient", "hand_pose", "betas")):
        raise DatasetError(
            "the sample has no 3D joints or MANO-layout parameters to train on",
            hint="train on a dataset with hand-model parameters (e.g. the synthetic open-hand data)",
        )
    return {
        "image": sample.image,
        "K": np.asarray(sample.K, np.float32),
        "bbox": np.asarray(sample.bbox, np.float32).reshape(-1, 4)[hand],
        "side": int(np.asarray(sample.side).reshape(-1)[hand]),
        "joints3d": np.asarray(sample.joints3d[hand], np.float32),
        "global_orient": np.asarray(mano["global_orient"][hand], np.float32),
        "hand_pose": np.asarray(mano["hand_pose"][hand], np.float32),
        "betas": np.asarray(mano["betas"][hand], np.float32)[:10],
    }


class StreamSamples(Dataset):
    """Records of a handzoo dataset (first hand of each sample), e.g. the synthetic generator
    rendering in DataLoader workers.

    Args:
        dataset: a handzoo dataset name (``synthetic``) or object.
        **kwargs: passed to :func:`handzoo.load_dataset` with a name.
    """

    def __init__(self, dataset: str | Any = "synthetic", **kwargs: Any) -> None:
        if isinstance(dataset, str):
            from handzoo.datasets import load_dataset

            dataset = load_dataset(dataset, **kwargs)
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return sample_to_record(self.dataset[index])


def sample_to_scene(sample: Any, max_hands: int = 2) -> dict[str, Any]:
    """A whole :class:`handzoo.types.Sample` (every hand, padded to ``max_hands``) as a training record,
    for methods that find the hands themselves (e.g. SMHR).

    Returns ``image``, ``K``, ``mask`` (H, W) uint8 (zeros when the sample has none), ``n_hands``
    and per hand (``max_hands`` rows, padding zero): ``side``, ``bbox``, ``joints3d``,
    ``joints_valid`` (21 flags; ones when the sample has none), ``global_orient``, ``hand_pose``,
    ``betas``, ``transl``; what a method needs to render the hands again (e.g. part labels):
    ``vertices`` (``max_hands``, V, 3) camera-frame metres (V = 0 when the sample has none) with
    ``has_vertices``, ``has_mano`` (the hand has ``global_orient``, ``hand_pose`` and ``betas``),
    ``has_transl`` (and ``transl`` places the posed model in the camera frame),
    ``transl_world`` with ``has_transl_world`` and ``world_to_camera`` (3, 4) (metres: a
    world-frame fit's translation and the camera's extrinsics, when the sample's ``meta`` holds
    them as InterHand2.6M's does: ``mano_world``, ``camrot``, ``campos`` in mm),
    ``flat_hand_mean`` (the sample's pose convention: True unless its ``meta`` says otherwise) and
    ``hand_model`` (the model the parameters are for: its ``meta``'s, else ``'mano'``).

    Raises:
        DatasetError: the sample lacks 3D joints, or has more than ``max_hands`` hands.
    """
    if sample.joints3d is None:
        raise DatasetError("the sample has no 3D joints to train on", hint="train on the synthetic open-hand data")
    n = int(np.asarray(sample.joints3d).shape[0])
    if n > max_hands:
        raise DatasetError(f"a sample has {n} hands, more than max_hands={max_hands}", hint="raise max_hands")
    mano = sample.mano or {}

    def pad(a: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        out = np.zeros((max_hands, *shape), dtype)
        if a is not None:
            out[:n] = np.asarray(a, dtype).reshape(n, -1)[:, : int(np.prod(shape))].reshape(n, *shape)
        return out

    def flag(present: bool) -> np.ndarray:
        out = np.zeros(max_hands, np.uint8)
        out[:n] = bool(present)
        return out

    image = np.asarray(sample.image)
    mask = sample.mask if sample.mask is not None else np.zeros(image.shape[:2], np.uint8)
    jv = np.ones((n, 21), np.float32) if sample.joints_valid is None else sample.joints_valid
    verts = None if sample.vertices is None else np.asarray(sample.vertices, np.float32)
    has_mano = all(mano.get(k) is not None for k in ("global_orient", "hand_pose", "betas"))
    transl_world, has_world, world_to_camera = _world_placement(sample, n, max_hands, has_mano)
    return {
        "image": image,
        "K": np.asarray(sample.K, np.float32),
        "mask": np.asarray(mask, np.uint8),
        "n_hands": n,
        "side": pad(sample.side, (), np.int64),
        "bbox": pad(sample.bbox, (4,)),
        "joints3d": pad(sample.joints3d, (21, 3)),
        "joints_valid": pad(jv, (21,)),
        "global_orient": pad(mano.get("global_orient"), (3,)),
        "hand_pose": pad(mano.get("hand_pose"), (45,)),
        "betas": pad(mano.get("betas"), (10,)),
        "transl": pad(mano.get("transl"), (3,)),
        "vertices": pad(verts, (0 if verts is None else verts.shape[1], 3)),
        "has_vertices": flag(verts is not None),
        "has_mano": flag(has_mano),
        "has_transl": flag(has_mano and mano.get("transl") is not None),
        "transl_world": transl_world,
        "has_transl_world": has_world,
        "world_to_camera": world_to_camera,
        "flat_hand_mean": bool((sample.meta or {}).get("mano_flat_hand_mean", True)),
        "hand_model": str((sample.meta or {}).get("hand_model", "mano")),
    }


def _world_placement(sample: Any, n: int, max_hands: int, has_mano: bool) -> tuple[np.ndarray, ...]:
    """Per hand ``transl_world`` (m) and ``has_transl_world``, and the (3, 4) world -> camera map
    (m), from ``meta['mano_world'][side]['trans']``, ``meta['camrot']`` and ``meta['campos']`` (mm)."""
    transl = np.zeros((max_hands, 3), np.float32)
    has = np.zeros(max_hands, np.uint8)
    w2c = np.zeros((3, 4), np.float32)
    meta = sample.meta or {}
    world = meta.get("mano_world")
    if not has_mano or not isinstance(world, dict) or meta.get("camrot") is None or meta.get("campos") is None:
        return transl, has, w2c
    R = np.asarray(meta["camrot"], np.float64).reshape(3, 3)
    w2c[:, :3] = R
    w2c[:, 3] = -R @ np.asarray(meta["campos"], np.float64).reshape(3) / 1000.0
    names = {RIGHT: "right", LEFT: "left"}
    for h, side in enumerate(np.asarray(sample.side).reshape(-1)[:n]):
        fit = world.get(names.get(int(side), ""))
        if isinstance(fit, dict) and fit.get("trans") is not None:
            transl[h] = np.asarray(fit["trans"], np.float64).reshape(3)
            has[h] = 1
    return transl, has, w2c


class SceneSamples(Dataset):
    """Whole images with all their hands (:func:`sample_to_scene`) of a handzoo dataset, e.g. the
    synthetic generator with one or two hands per image, rendered in DataLoader workers.

    Args:
        dataset: a handzoo dataset name (``synthetic``) or object.
        max_hands: hands per record (padded).
        **kwargs: passed to :func:`handzoo.load_dataset` with a name (e.g. ``split='train'``,
            ``image_size=384``, ``two_hand_prob=0.5``).
    """

    def __init__(self, dataset: str | Any = "synthetic", max_hands: int = 2, **kwargs: Any) -> None:
        if isinstance(dataset, str):
            from handzoo.datasets import load_dataset

            dataset = load_dataset(dataset, **kwargs)
        self.dataset = dataset
        self.max_hands = int(max_hands)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return sample_to_scene(self.dataset[index], self.max_hands)


class TrainingSet(Dataset):
    """``transform(source[i], i)`` for every sample: what the DataLoader of the Runner reads.

    Args:
        source: the samples (:class:`ShardSamples`, :class:`StreamSamples`, any map-style dataset).
        transform: the method's training transform (a callable taking ``(record, index)``).
    """

    def __init__(self, source: Dataset, transform: Callable[[dict[str, Any], int], dict[str, Any]]) -> None:
        self.source = source
        self.transform = transform
        self.metainfo = {"source": type(source).__name__}

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.transform(self.source[index], index)


def build_source(cfg: dict[str, Any]) -> Dataset:
    """A sample source from a config: ``{'type': 'shards', 'roots': [...]}``,
    ``{'type': 'stream', 'dataset': 'synthetic', ...}`` (first hand of each sample) or
    ``{'type': 'scenes', 'dataset': 'synthetic', 'max_hands': 2, ...}`` (whole images).

    Raises:
        ConfigError: unknown source type.
    """
    cfg = dict(cfg)
    kind = cfg.pop("type", "shards")
    if kind == "shards":
        return ShardSamples(**cfg)
    if kind == "stream":
        return StreamSamples(**cfg)
    if kind == "scenes":
        return SceneSamples(**cfg)
    raise ConfigError(
        f"unknown training data source {kind!r}", hint="use type='shards', type='stream' or type='scenes'"
    )
