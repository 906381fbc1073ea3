"""Base classes every method, backbone, head, hand model, dataset and loss implements.

These are deliberately small (DESIGN.md §3). Core code talks only to these interfaces; plugins
subclass them and register the subclasses in :mod:`handzoo.registry`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from handzoo.types import HandOutput, Sample

if TYPE_CHECKING:
    from handzoo.hub.cards import ModelCard

__all__ = ["Backbone", "Head", "HandModel", "Dataset", "Loss", "Method"]


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

    ``model(images, boxes=...)`` runs the whole pipeline under ``torch.inference_mode()`` and
    returns a :class:`~handzoo.types.HandOutput`. ``model(batch_dict)`` (a mapping, as produced by
    :meth:`preprocess` or a training data pipeline) calls :meth:`forward` through ``nn.Module``
    so hooks, DDP and the mmengine Runner work as usual.

    Attributes:
        card: the :class:`~handzoo.hub.cards.ModelCard` this instance was built from, or None.
    """

    card: ModelCard | None = None

    @abc.abstractmethod
    def preprocess(self, images: Any, boxes: Any = None, **ctx: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Turn user images into network inputs exactly as the authors do.

        Args:
            images: RGB uint8 (H, W, 3) arrays, PIL images, paths or tensors (one or a batch).
            boxes: hand boxes ``x0, y0, x1, y1`` in input pixels, one (N_i, 4) array per image;
                methods that detect hands themselves ignore them.
            **ctx: optional context with these standard names, each per image (and per box):
                ``sides`` ('right'/'left' or 0/1), ``K`` (3, 3) intrinsics of the input camera,
                ``joints2d`` (N_i, 21, 2) 2D joints in input pixels (methods that crop from joints),
                ``root`` (N_i, 3) camera-frame wrist for root-relative methods. Methods accept the
                ones they use and ignore the others.

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

    def predict(self, images: Any, boxes: Any = None, **ctx: Any) -> HandOutput:
        """Run preprocess, forward and postprocess without autograd."""
        with torch.inference_mode():
            batch, meta = self.preprocess(images, boxes=boxes, **ctx)
            raw = nn.Module.__call__(self, batch)
            return self.postprocess(raw, meta)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], Mapping):
            return nn.Module.__call__(self, *args, **kwargs)
        return self.predict(*args, **kwargs)
