"""Tiny stand-ins for the harness tests: a dataset with known values, a model, a scorer, cards.

Importable by spawned worker processes (the distributed test), so everything here is top-level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from handzoo.bench.datasets import DatasetSpec
from handzoo.bench.records import GroundTruth, Predictions
from handzoo.bench.runner import Providers
from handzoo.bench.scoring import ScoreResult
from handzoo.catalogue.cards import BenchLimits
from handzoo.errors import ConfigError, DatasetNotFoundError
from handzoo.types import HandOutput, Sample

SHA_A = "a" * 64


def hand_of(index: int, hand: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic ground truth (joints (21,3), vertices (8,3)) of one hand, metres."""
    rng = np.random.default_rng(1000 * index + hand)
    root = np.array([0.05 * hand, 0.0, 0.5 + 0.01 * index])
    joints = root + rng.normal(scale=0.03, size=(21, 3))
    joints[0] = root
    verts = root + rng.normal(scale=0.03, size=(8, 3))
    return joints.astype(np.float32), verts.astype(np.float32)


class TinyDataset:
    """``n`` samples, one hand each (every third image also has an invalid second hand)."""

    name = "tiny"
    protocol = "tiny-protocol"

    def __init__(self, n: int = 7, split: str = "bench", root: Any = None, left_every: int = 2) -> None:
        self.n, self.split, self.root, self.left_every = n, split, root, left_every

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> Sample:
        j, v = hand_of(index)
        side = 1 if index % self.left_every == 1 else 0
        image = np.full((8, 8, 3), index, dtype=np.uint8)  # the index travels in the pixels
        hands = 2 if index % 3 == 0 else 1
        joints = np.stack([j] * hands)
        verts = np.stack([v] * hands)
        return Sample(
            image=image,
            K=np.eye(3, dtype=np.float32),
            side=np.array([side] + [1 - side] * (hands - 1)),
            bbox=np.array([[0, 0, 8, 8]] * hands, dtype=np.float32),
            hand_valid=np.array([True] + [False] * (hands - 1)),
            joints3d=joints,
            joints_valid=np.ones((hands, 21), dtype=bool),
            vertices=verts,
            meta={"id": index},
        )


class TinyModel:
    """Predicts each hand's ground truth shifted by ``1 mm * (index % 4)`` along x (from the pixels)."""

    def __init__(self, root_relative: bool = False) -> None:
        self.root_relative = root_relative
        self.calls = 0

    def __call__(self, images: list[np.ndarray], boxes: list[np.ndarray], **ctx: Any) -> HandOutput:
        self.calls += 1
        js, vs = [], []
        for img in images:
            index = int(img[0, 0, 0])
            j, v = hand_of(index)
            shift = np.array([0.001 * (index % 4), 0.0, 0.0], dtype=np.float32)
            j, v = j + shift, v + shift
            if self.root_relative:
                v, j = v - j[0], j - j[0]
            js.append(j[None])
            vs.append(v[None])
        b = len(images)
        return HandOutput(
            joints3d=torch.from_numpy(np.stack(js)),
            vertices=torch.from_numpy(np.stack(vs)),
            side=torch.tensor([int(np.asarray(x).reshape(-1)[0]) for x in ctx.get("sides", [0] * b)]).reshape(b, 1),
            score=torch.ones(b, 1),
            valid=torch.ones(b, 1, dtype=torch.bool),
            root_relative=self.root_relative,
        )

    def preprocess(self, images: Any, boxes: Any = None, **ctx: Any) -> None:  # signature only
        raise NotImplementedError


def tiny_scorer(protocol: str, gt: GroundTruth, pred: Predictions) -> ScoreResult:
    """MPJPE / MPVPE (mm) and one PCK curve, enough to check the plumbing."""
    err = np.linalg.norm(pred.joints3d - gt.joints3d, axis=-1) * 1000.0
    metrics: dict[str, float | None] = {"mpjpe": float(err.mean()) if err.size else None}
    units = {"mpjpe": "mm"}
    if gt.vertices is not None and pred.vertices is not None and gt.vertices.shape == pred.vertices.shape:
        metrics["mpvpe"] = float((np.linalg.norm(pred.vertices - gt.vertices, axis=-1) * 1000.0).mean())
        units["mpvpe"] = "mm"
    t = np.linspace(0.0, 50.0, 11)
    pck = [float((err <= x).mean()) if err.size else 0.0 for x in t]
    return ScoreResult(metrics, units, {"joints": {"thresholds_mm": list(t), "values": pck}}, ["mpjpe", "mpvpe"])


@dataclass
class TinyCard:
    """Enough of a ModelCard for the harness."""

    name: str
    method: str = "tiny"
    hand_model: str | None = "openhand"
    hub: dict[str, Any] | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, Any] = field(default_factory=dict)

    planned: bool = False

    @property
    def results(self) -> list[dict[str, Any]]:
        return list(self.fields.get("results") or [])

    @property
    def bench(self) -> BenchLimits:
        return BenchLimits.from_yaml(self.fields.get("bench"))


def tiny_cards() -> dict[str, TinyCard]:
    """A runnable card with paper numbers, one without weights and one needing MANO."""
    return {
        "tiny-good": TinyCard(
            "tiny-good",
            hub={"sha256": SHA_A},
            fields={
                "results": [{"dataset": "tiny", "metric": "MPJPE", "value": 0.1, "unit": "cm", "source": "Tab. 1"}]
            },
        ),
        "tiny-noweights": TinyCard(
            "tiny-noweights", weights={"original": {"url": "https://example.org/ckpt.pth", "format": "pth"}}
        ),
        "tiny-mano": TinyCard("tiny-mano", hand_model="mano", hub={"sha256": "b" * 64}),
    }


def tiny_status(card: TinyCard) -> tuple[str, str | None, Any]:
    """Weights status: published when the card has a hub entry."""
    if card.hub:
        return "published", card.hub["sha256"], "published"
    return "convert-needed", None, "convert-needed"


def tiny_loader(n: int = 7) -> Any:
    """``load_dataset`` serving ``tiny`` (generated) and refusing everything else."""

    def load(name: str, root: Any = None, split: str = "bench") -> Any:
        if name == "tiny":
            return TinyDataset(n=n, split=split, root=root)
        raise DatasetNotFoundError(f"{name} is not here", hint=f"put {name} somewhere")

    return load


def tiny_check_protocol(name: str) -> None:
    if name != "tiny-protocol":
        raise ConfigError(f"unknown protocol {name!r}", hint="one of: tiny-protocol")


def tiny_providers(n: int = 7, model: TinyModel | None = None, cards: dict[str, TinyCard] | None = None) -> Providers:
    """Providers wired to the stand-ins above."""
    m = model or TinyModel()
    return Providers(
        load_dataset=tiny_loader(n),
        cards=tiny_cards() if cards is None else cards,
        weights_status=tiny_status,
        load_model=lambda name: m,
        scorer=tiny_scorer,
        check_protocol=tiny_check_protocol,
        dataset_specs=tiny_specs(),
    )


def tiny_specs() -> dict[str, DatasetSpec]:
    """The dataset table of the tests: ``tiny`` (embedded) and ``absent`` (needs a download)."""
    return {
        "tiny": DatasetSpec("tiny", "bench", source="generated", embedded=True),
        "absent": DatasetSpec("absent", "test", source="https://example.org/absent"),
    }
