"""The synthetic open-hand dataset: seeded renders that exist on every machine.

Sample ``i`` of a split is rendered on the fly from ``(seed, i)``; the same call always returns
the same pixels and annotations. The ``bench`` split (256 images, seed 0, 224 px, one hand per
image, left and right) is the default benchmark of ``handzoo-bench``. ``handzoo data synth``
writes any split to disk in the FreiHAND layout, which this class (``root=...``) and the FreiHAND
loader read back.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from typing import Any

from handzoo.catalogue.datasets import DatasetSpec, register_dataset
from handzoo.datasets.base import HandDataset
from handzoo.datasets.synth.scene import GENERATOR_VERSION, HandSynthesizer, SynthConfig
from handzoo.errors import ConfigError
from handzoo.types import Sample

__all__ = ["SyntheticHands", "SYNTHETIC_SPLITS", "SPEC"]

# split -> (number of samples, seed, probability of two-hand images)
SYNTHETIC_SPLITS: dict[str, tuple[int, int, float]] = {
    "bench": (256, 0, 0.0),
    "bench_multi": (256, 100, 0.5),
    "val": (1000, 1, 0.25),
    "train": (100_000, 2, 0.25),
}

SPEC = register_dataset(
    DatasetSpec(
        "synthetic",
        protocols=("freihand",),
        source="embedded (generated on the fly)",
        embedded=True,
        splits=tuple(SYNTHETIC_SPLITS),
        title="synthetic open hand",
    )
)


class SyntheticHands(HandDataset):
    """Synthetic renders of the open hand model with full ground truth.

    Args:
        root: a folder written by ``handzoo data synth`` to read instead of generating.
        split: ``bench`` (default), ``bench_multi``, ``val``, ``train``; with ``root``, the
            FreiHAND split name written there (``training`` by default).
        n: number of samples (overrides the split's).
        seed: generator seed (overrides the split's).
        image_size: image side in pixels.
        two_hand_prob: probability of two-hand images (overrides the split's).
        **config: other :class:`SynthConfig` fields.
    """

    name = "synthetic"
    protocol = "freihand"

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        split: str = "bench",
        n: int | None = None,
        seed: int | None = None,
        image_size: int = 224,
        two_hand_prob: float | None = None,
        **config: Any,
    ) -> None:
        self._disk = None
        if root is not None:
            from handzoo.datasets.freihand import FreiHAND

            self._disk = FreiHAND(root, split="training" if split in SYNTHETIC_SPLITS else split)
            self.root, self.split = self._disk.root, self._disk.split
            return
        if split not in SYNTHETIC_SPLITS and (n is None or seed is None):
            raise ConfigError(
                f"unknown synthetic split {split!r}",
                hint=f"use one of {', '.join(SYNTHETIC_SPLITS)}, or give n= and seed= for a custom one",
            )
        dn, dseed, dtwo = SYNTHETIC_SPLITS.get(split, (0, 0, 0.0))
        self.split = split
        self.root = None
        self.n = int(dn if n is None else n)
        self.seed = int(dseed if seed is None else seed)
        if self.n < 0:
            raise ConfigError(f"n must be >= 0, got {self.n}")
        try:
            cfg = replace(
                SynthConfig(),
                image_size=int(image_size),
                two_hand_prob=float(dtwo if two_hand_prob is None else two_hand_prob),
                **config,
            )
        except TypeError as exc:
            raise ConfigError(
                f"unknown synthetic option: {exc}", hint=f"options: {', '.join(SynthConfig().to_dict())}"
            ) from exc
        self.config = cfg
        self._gen: HandSynthesizer | None = None

    @property
    def generator(self) -> HandSynthesizer:
        """The renderer (built on first use, so pickling to DataLoader workers stays cheap)."""
        if self._gen is None:
            self._gen = HandSynthesizer(self.config)
        return self._gen

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_gen"] = None
        return state

    def __len__(self) -> int:
        return len(self._disk) if self._disk is not None else self.n

    def _load(self, index: int) -> Sample:
        if self._disk is not None:
            return self._disk[index]
        return self.generator.generate(self.seed, index)

    def fingerprint(self) -> str:
        """Changes whenever the generated data would change (version, seed, size, options)."""
        if self._disk is not None:
            return ""
        blob = {"v": GENERATOR_VERSION, "n": self.n, "seed": self.seed, "config": self.config.to_dict()}
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()
