"""Hands without boxes: detectors for ``handzoo predict``.

* ``FullImage``: one right hand per image, the whole image as its box (the fallback).
* ``ModelKeypoints``: any model that predicts 2D joints finds the hand: a first pass on the
  whole image, then the box around its 2D joints (enlarged).
* A multi-hand method (e.g. SMHR) is itself a :class:`~handzoo.interfaces.HandDetector`.
* Third-party detectors: registered in :data:`handzoo.registry.DETECTORS` by a plugin's
  ``handzoo_register`` hook, then ``--detector NAME``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from handzoo import registry
from handzoo.errors import ConfigError
from handzoo.interfaces import Detections, HandDetector
from handzoo.query import load_images

__all__ = ["FullImageDetector", "ModelKeypointDetector", "make_detector"]


class FullImageDetector(HandDetector):
    """One hand per image whose box is the whole image.

    Args:
        side: ``'right'`` or ``'left'``.
    """

    def __init__(self, side: str = "right") -> None:
        if side not in ("right", "left"):
            raise ConfigError(f"side must be 'right' or 'left', got {side!r}")
        self.side = 0 if side == "right" else 1

    def detect(self, images: Any) -> list[Detections]:
        """One full-image box per image."""
        out = []
        for img in load_images(images):
            h, w = img.shape[:2]
            out.append(Detections(np.array([[0.0, 0.0, w - 1.0, h - 1.0]]), np.array([self.side]), np.ones(1)))
        return out


class ModelKeypointDetector(HandDetector):
    """Boxes from a model's own 2D joints on the whole image (two-pass cropping).

    Args:
        model: a loaded :class:`~handzoo.interfaces.Method` that predicts ``joints2d``.
        scale: box side / the 2D joints' extent.
        side: ``'right'`` or ``'left'``: the side asked of the first pass.
    """

    def __init__(self, model: Any, scale: float = 1.5, side: str = "right") -> None:
        if model is None or not callable(getattr(model, "predict", None)):
            raise ConfigError("the ModelKeypoints detector needs a loaded model", hint="pass model=handzoo.load(NAME)")
        self.model, self.scale = model, float(scale)
        self.first = FullImageDetector(side)

    def detect(self, images: Any) -> list[Detections]:
        """Run the model on full-image boxes; return the box around each predicted hand's 2D joints."""
        imgs = load_images(images)
        first = self.first.detect(imgs)
        if getattr(self.model, "multi_frame", False):
            # a multi-frame model (H2ONet-MF) finds the hand on the image alone: three times itself
            out = self.model.predict(
                [[im] * 3 for im in imgs],
                boxes=np.stack([np.repeat(d.boxes[:1], 3, 0) for d in first]),
                sides=[int(d.sides[0]) for d in first],
            )
        else:
            out = self.model.predict(imgs, boxes=[d.boxes for d in first], sides=[d.sides for d in first])
        if out.joints2d is None:
            raise ConfigError(
                "this model predicts no 2D joints, so it cannot find hands",
                hint="use --detector FullImage or --boxes FILE",
            )
        j2d = out.joints2d.detach().double().cpu().numpy()
        valid = out.valid.cpu().numpy()
        sides = out.side.cpu().numpy()
        scores = out.score.detach().double().cpu().numpy()
        dets = []
        for i, img in enumerate(imgs):
            h, w = img.shape[:2]
            boxes, ss, sc = [], [], []
            for j in np.flatnonzero(valid[i]):
                uv = j2d[i, j]
                if not np.all(np.isfinite(uv)):
                    continue
                c = (uv.min(0) + uv.max(0)) / 2.0
                half = max(float((uv.max(0) - uv.min(0)).max()) * self.scale / 2.0, 8.0)
                x0, y0 = max(c[0] - half, 0.0), max(c[1] - half, 0.0)
                x1, y1 = min(c[0] + half, w - 1.0), min(c[1] + half, h - 1.0)
                if x1 - x0 < 2 or y1 - y0 < 2:
                    continue
                boxes.append([x0, y0, x1, y1])
                ss.append(int(sides[i, j]))
                sc.append(float(np.clip(scores[i, j], 0.0, 1.0)))
            dets.append(Detections(np.array(boxes).reshape(-1, 4), np.array(ss, np.int64), np.array(sc)))
        return dets


def _register() -> None:
    reg = registry.DETECTORS
    for cls, name in ((FullImageDetector, "FullImage"), (ModelKeypointDetector, "ModelKeypoints")):
        if name not in reg.module_dict:
            reg.register_module(name=name, module=cls)


_register()

_ALIASES = {
    "full": "FullImage",
    "fullimage": "FullImage",
    "none": "FullImage",
    "keypoints": "ModelKeypoints",
    "modelkeypoints": "ModelKeypoints",
}


def make_detector(name: str | None, model: Any) -> HandDetector:
    """The detector ``handzoo predict`` uses.

    Args:
        name: ``None``/``'auto'`` (the model itself when it is a detector, else ``FullImage``),
            ``'full'``, ``'keypoints'`` (``ModelKeypoints`` with ``model``), ``'model'`` (the model
            must be a detector) or any name registered in ``DETECTORS`` (plugins included).
        model: the loaded method.

    Raises:
        ConfigError: for an unknown name or a model that is not a detector.
    """
    if name is None or name.lower() == "auto":
        return model if isinstance(model, HandDetector) else FullImageDetector()
    if name.lower() == "model":
        if not isinstance(model, HandDetector):
            raise ConfigError(
                f"model {type(model).__name__} does not detect hands",
                hint="use --detector keypoints, full, or --boxes FILE",
            )
        return model
    key = _ALIASES.get(name.lower(), name)
    if key == "ModelKeypoints":
        return ModelKeypointDetector(model)
    reg = registry.get_registry("detectors")  # runs plugins' handzoo_register hooks (third-party detectors)
    _register()
    cls = reg.module_dict.get(key) or next((v for k, v in reg.module_dict.items() if k.lower() == key.lower()), None)
    if cls is None:
        names = ", ".join(sorted(set(reg.module_dict) | {"auto", "full", "keypoints", "model"}))
        raise ConfigError(f"unknown detector {name!r}", hint=f"choose one of: {names}")
    if isinstance(model, cls):
        return model
    try:
        det = cls()
    except TypeError as exc:
        raise ConfigError(
            f"detector {key} cannot be built without arguments ({exc})",
            hint="use --detector model with that model, or --boxes FILE",
        ) from None
    if not isinstance(det, HandDetector):
        raise ConfigError(f"{key} in DETECTORS is not a HandDetector")
    return det
