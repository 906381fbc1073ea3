"""Datasets in handzoo conventions, the synthetic open-hand benchmark (crops and image transforms are in :mod:`handzoo.imaging`).

Every loader yields :class:`~handzoo.types.Sample` objects: RGB uint8 image, intrinsics, joints in
``handzoo21`` order in metres in the OpenCV camera frame, hand sides, boxes, validity, and the raw
fields its official protocol needs in ``meta``. Importing this package registers the loaders in
:data:`handzoo.registry.DATASETS`::

    from handzoo.datasets import load_dataset
    ds = load_dataset("freihand", split="evaluation")        # $HANDZOO_DATA/FreiHAND
    ds = load_dataset("dexycb-handoccnet", split="s0_test")  # = load_dataset("dexycb", source="handoccnet")
    ds = load_dataset("synthetic", split="bench")            # generated, no download
"""

from __future__ import annotations

import difflib
import os
from typing import Any

from handzoo.catalogue.datasets import DatasetSpec, dataset_spec, dataset_specs
from handzoo.datasets.base import DATA_ENV, HandDataset
from handzoo.datasets.collate import collate_samples
from handzoo.datasets.dexter_object import DexterObject
from handzoo.datasets.dexycb import DexYCB
from handzoo.datasets.egodexter import EgoDexter
from handzoo.datasets.freihand import FreiHAND
from handzoo.datasets.ho3d import HO3D
from handzoo.datasets.interhand import InterHand26M
from handzoo.datasets.rhd import RHD
from handzoo.datasets.stb import STB
from handzoo.datasets.synthetic import SyntheticHands
from handzoo.errors import ConfigError, RegistryError

__all__ = [
    "DATA_ENV",
    "DATASET_CLASSES",
    "DatasetSpec",
    "DexterObject",
    "DexYCB",
    "EgoDexter",
    "FreiHAND",
    "HO3D",
    "HandDataset",
    "InterHand26M",
    "RHD",
    "STB",
    "SyntheticHands",
    "collate_samples",
    "dataset_specs",
    "list_datasets",
    "load_dataset",
]

#: loader name -> class (each loader module declares its :class:`DatasetSpec` s in the catalogue)
DATASET_CLASSES: dict[str, type[HandDataset]] = {
    "freihand": FreiHAND,
    "ho3d": HO3D,
    "dexycb": DexYCB,
    "dexter-object": DexterObject,
    "egodexter": EgoDexter,
    "interhand26m": InterHand26M,
    "rhd": RHD,
    "stb": STB,
    "synthetic": SyntheticHands,
}


def _register() -> None:
    from handzoo.registry import DATASETS

    for name, cls in DATASET_CLASSES.items():
        DATASETS.register_module(name=name, module=cls, force=True)


_register()


def list_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`: the catalogue's datasets and the loaders' names.

    Other spellings of these (``ho3d_v2``, ``HO3D-v2``) are accepted too.
    """
    return sorted(set(DATASET_CLASSES) | set(dataset_specs()))


def _resolve(name: str) -> tuple[str, dict[str, Any]]:
    """(loader name, fixed loader options) for a dataset name in any accepted spelling."""
    key = name.strip().lower()
    if key in DATASET_CLASSES:
        return key, {}
    spec = dataset_spec(name)
    if spec is not None:
        return spec.loader_name, dict(spec.options)
    return key, {}


def load_dataset(
    name: str, root: str | os.PathLike | None = None, split: str | None = None, **kwargs: Any
) -> HandDataset:
    """Open a dataset by name.

    Args:
        name: a catalogue name (``freihand``, ``ho3d-v2``, ``ho3d-v3``, ``dexycb``,
            ``dexycb-handoccnet``, ``interhand26m``, ``rhd``, ``stb``, ``dexter-object``,
            ``egodexter``, ``synthetic``) in any spelling
            (``ho3d_v2``), a loader name (``ho3d``, with ``version=``), or any name a plugin
            registered in ``DATASETS``.
        root: the dataset folder; default ``$HANDZOO_DATA/<the dataset's own folder name>``.
        split: the split (default: the loader's evaluation split).
        **kwargs: loader options (``version``, ``source``, ``hands``, ``n``, ``seed``, ...).

    Raises:
        RegistryError: unknown name. DatasetNotFoundError: data missing (says where to get it).
    """
    if not isinstance(name, str):
        raise ConfigError(f"a dataset name must be a string, not {type(name).__name__}", hint="e.g. 'freihand'")
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise ConfigError(
            f"root= must be a folder path, not {type(root).__name__} ({str(root)[:40]!r})",
            hint="e.g. load_dataset('freihand', root='~/data/FreiHAND')",
        )
    if split is not None and not isinstance(split, str):
        raise ConfigError(f"split= must be a string, not {type(split).__name__}")
    key, fixed = _resolve(name)
    cls: Any = DATASET_CLASSES.get(key)
    if cls is None:
        from handzoo.registry import DATASETS, ensure_registered

        ensure_registered()
        cls = DATASETS.get(key)
    if cls is None:
        close = difflib.get_close_matches(key, list_datasets(), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(list_datasets())}"
        raise RegistryError(f"unknown dataset {name!r}", hint=hint)
    args: dict[str, Any] = {**kwargs, **fixed}
    if split is not None:
        args["split"] = split
    return cls(root=root, **args)
