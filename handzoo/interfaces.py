"""Base classes every method, backbone, head, hand model, dataset and loss implements.

These are deliberately small. Core code talks only to these interfaces; plugins subclass them
and register the subclasses in :mod:`handzoo.registry`.

The input contract of a method: ``model(images, boxes=..., sides=..., K=..., joints2d=...,
root=..., **extra)`` calls :meth:`Method.predict`, which validates everything once with
:func:`handzoo.query.make_query` and hands the resulting :class:`~handzoo.query.HandQuery` to
:meth:`Method.preprocess`. Plugins never parse user images, boxes or sides themselves; how a
method turns a box into its crop (its box rule) lives in the plugin.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from handzoo.errors import InputError
from handzoo.query import HandQuery, make_query
from handzoo.types import HandOutput, Sample

if TYPE_CHECKING:
    from handzoo.catalogue.cards import ModelCard

__all__ = ["Backbone", "Head", "HandModel", "Dataset", "Loss", "Method", "HandDetector", "Detections", "HandQuery"]


class Backbone(nn.Module, abc.ABC):
    """Image feature extractor.

    Attributes:
        out_channels: channels of each returned feature map.
        strides: stride (relative to the input) of each returned feature map.
    """

    out_channels: Sequence[int] = ()
    strides: Sequence[int] = ()

    @abc.abstractmethod
    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Return feature maps, highest resolution first."""


class Head(nn.Module, abc.ABC):
    """A prediction head on top of backbone features."""

    @abc.abstractmethod
    def forward(self, features: list[torch.Tensor] | torch.Tensor, **ctx: Any) -> dict[str, torch.Tensor]:
        """Return named raw predictions."""


class HandModel(nn.Module, abc.ABC):
    """A parametric hand mesh model (MANO's formulation).

    Attributes:
        faces: (F, 3) int64 buffer.
        num_vertices: number of mesh vertices.
        tip_vertex_ids: vertex ids of the thumb, index, middle, ring and pinky tips.
        side: ``'right'`` or ``'left'``.
    """

    faces: torch.Tensor
    num_vertices: int
    tip_vertex_ids: tuple[int, int, int, int, int]
    side: str

    @abc.abstractmethod
    def forward(
        self,
        global_orient: torch.Tensor,
        hand_pose: torch.Tensor,
        betas: torch.Tensor,
        transl: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pose the hand.

        Args:
            global_orient: (B, 3) axis-angle.
            hand_pose: (B, 45) axis-angle of the 15 finger joints (MANO order).
            betas: (B, num_betas).
            transl: optional (B, 3) translation.

        Returns:
            ``(vertices (B, V, 3), joints (B, 21, 3))``, joints in ``handzoo21`` order, metres.
        """


class Dataset(abc.ABC):
    """A map-style dataset yielding :class:`~handzoo.types.Sample` objects.

    Attributes:
        name: registry name (``freihand``, ``synthetic``, ...).
        protocol: name of the official protocol that scores it (see :mod:`handzoo.protocols`).
        root: folder on disk, or None for generated data.
        split: split name.
    """

    name: str = ""
    protocol: str = ""
    root: Any = None
    split: str = ""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of samples."""

    @abc.abstractmethod
    def __getitem__(self, index: int) -> Sample:
        """Return one sample in handzoo conventions."""


class Loss(nn.Module, abc.ABC):
    """A training loss: named terms plus their weighted sum under ``'loss'``."""

    @abc.abstractmethod
    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Return ``{'loss': total, '<term>': value, ...}``."""


class Method(nn.Module, abc.ABC):
    """A complete hand-reconstruction method: preprocess -> network -> postprocess.

    ``model(images, boxes=..., sides=..., K=..., joints2d=..., root=..., **extra)`` validates the
    input into one :class:`~handzoo.query.HandQuery` (:meth:`make_query`), runs the whole pipeline
    under ``torch.inference_mode()`` and returns a :class:`~handzoo.types.HandOutput`;
    ``model(query)`` takes a ready query. ``model(batch_dict)`` (a mapping, as produced by
    :meth:`preprocess` or a training data pipeline) calls :meth:`forward` through ``nn.Module``
    so hooks, DDP and the mmengine Runner work as usual.

    Attributes:
        card: the :class:`~handzoo.catalogue.cards.ModelCard` this instance was built from, or None.
    """

    card: ModelCard | None = None

    @abc.abstractmethod
    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Turn a validated query into network inputs exactly as the authors do.

        Args:
            query: the images and per-hand context, already validated by
                :func:`handzoo.query.make_query`: ``images`` (RGB uint8 (H, W, 3) per image),
                ``boxes`` (per image (N_i, 4) ``x0, y0, x1, y1`` input pixels, or None),
                ``sides`` (per image (N_i,) RIGHT=0/LEFT=1, or None; ``query.hand_sides()``
                defaults them), ``K`` (per image (3, 3), or None), ``joints2d`` (per image
                (N_i, 21, 2), or None), ``root`` (per image (N_i, 3) metres, or None) and
                ``extra`` (method-specific options). Methods use the fields they need, apply
                their own box rule and ignore the rest; methods that detect hands ignore boxes.

        Returns:
            ``(batch, meta)``: tensors for :meth:`forward` and what :meth:`postprocess` needs to
            map outputs back to the input images (crop transforms, flips, sizes).
        """

    @abc.abstractmethod
    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run the network on preprocessed inputs and return its raw outputs."""

    @abc.abstractmethod
    def postprocess(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> HandOutput:
        """Decode raw outputs into a :class:`~handzoo.types.HandOutput` in input-image terms."""

    def losses(self) -> dict[str, Loss]:
        """The method's training losses, by name. Methods without training support return ``{}``."""
        return {}

    def make_query(self, images: Any, boxes: Any = None, **ctx: Any) -> HandQuery:
        """Validate user input into the query :meth:`preprocess` receives.

        The default is :func:`handzoo.query.make_query`; a method whose inputs are grouped
        differently (e.g. frame triples of a video method) overrides this to flatten them.
        """
        return make_query(images, boxes, **ctx)

    def predict(self, images: Any, boxes: Any = None, **ctx: Any) -> HandOutput:
        """Validate the input, then run preprocess, forward and postprocess without autograd.

        Args:
            images: one image or many (arrays, PIL images, paths, tensors), or a
                :class:`~handzoo.query.HandQuery`.
            boxes: hand boxes ``x0, y0, x1, y1`` in input pixels, per image.
            **ctx: ``sides``, ``K``, ``joints2d``, ``root`` and method-specific options (see
                :func:`handzoo.query.make_query`).

        Raises:
            InputError: the input does not validate (the message says how to fix it).
        """
        query = self.make_query(images, boxes, **ctx)
        with torch.inference_mode():
            batch, meta = self.preprocess(query)
            raw = nn.Module.__call__(self, batch)
            return self.postprocess(raw, meta)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], Mapping):
            return nn.Module.__call__(self, *args, **kwargs)
        return self.predict(*args, **kwargs)


@dataclass
class Detections:
    """Hands found in one image by a :class:`HandDetector`.

    Attributes:
        boxes: (N, 4) float64 ``x0, y0, x1, y1`` in input pixels.
        sides: (N,) int64 RIGHT=0 / LEFT=1.
        scores: (N,) float64 confidences in [0, 1].
    """

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=np.float64))
    sides: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.sides = np.asarray(self.sides, dtype=np.int64).reshape(-1)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        n = self.boxes.shape[0]
        if self.sides.shape[0] != n or self.scores.shape[0] != n:
            raise InputError(
                f"Detections has {n} boxes, {self.sides.shape[0]} sides and {self.scores.shape[0]} scores",
                hint="give one side and one score per box",
            )

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


class HandDetector(abc.ABC):
    """Finds hands (boxes, sides, scores) in images. Registered in ``handzoo.registry.DETECTORS``.

    A detector's boxes and sides feed any method: ``model(images, boxes=[d.boxes for d in dets],
    sides=[d.sides for d in dets])``. A multi-hand method that detects hands itself also
    implements this interface.
    """

    @abc.abstractmethod
    def detect(self, images: Any) -> list[Detections]:
        """Detect hands.

        Args:
            images: one image or many, in any form :func:`handzoo.query.load_images` accepts.

        Returns:
            One :class:`Detections` per image.
        """
