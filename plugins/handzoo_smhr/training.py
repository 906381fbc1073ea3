"""Training samples for SMHR: whole images with one or more hands, and centre-heatmap targets.

SMHR finds the hands itself, so a training sample is a whole image (a scene record of
:func:`handzoo.train.data.sample_to_scene`, e.g. the synthetic generator with one or two hands)
warped to the network input with the authors' augmentation (random rotation up to 40 degrees,
scale, a few pixels of shift; colour), converted to the authors' BGR input with ImageNet
statistics, and the targets of the weakly supervised losses (:mod:`handzoo_smhr.losses`), all at
the input's resolution or the heads' stride-4 map:

* ``hm`` (1, h, w): a Gaussian per hand at its centre cell (the mean of its 2D joints, the
  authors' ``avg_center``), peak exactly 1; ``handmap`` (2, h, w): the same split by side
  (left, right) for the multi-hand model;
* ``ind`` (K,) flat centre cells, ``side`` (K,), ``hand_mask`` (K,) (1 for real hands, 0 for
  padding), ``joints2d`` (K, 21, 2) network-input pixels;
* ``skin_mask`` (S, S) and ``faces`` (F, 3) for the silhouette term (the generator's hand mask);
  ``image`` (3, S, S) RGB in [0, 1] for the photometric term when asked for.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from handzoo.train.augment import colour_jitter
from handzoo.types import LEFT

from .preprocess import normalize_bgr

__all__ = ["SMHRTrainTransform", "centre_gaussian"]


def centre_gaussian(heat: np.ndarray, cx: int, cy: int, radius: int) -> None:
    """Draw (max) a Gaussian of the given radius (sigma = (2r + 1) / 6) with peak 1 at ``(cx, cy)``."""
    h, w = heat.shape
    sigma = (2 * radius + 1) / 6.0
    ys, xs = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    g = np.exp(-(xs * xs + ys * ys) / (2 * sigma * sigma))
    x0, x1 = max(0, cx - radius), min(w, cx + radius + 1)
    y0, y1 = max(0, cy - radius), min(h, cy + radius + 1)
    patch = g[y0 - cy + radius : y1 - cy + radius, x0 - cx + radius : x1 - cx + radius]
    np.maximum(heat[y0:y1, x0:x1], patch, out=heat[y0:y1, x0:x1])


class SMHRTrainTransform:
    """Scene record -> ``img`` (3, S, S) and the targets above.

    Args:
        input_size: network input side (a multiple of 32; 224 single-hand, 384 multi-hand).
        max_hands: centres per sample (K; the scene records' padding).
        down_ratio: stride of the heads' map (4).
        handedness: add the ``handmap`` targets (multi-hand model). Without, the model has a
            right hand model only: an image whose hands are all left is mirrored.
        silhouette: add ``skin_mask`` and ``faces`` (the silhouette term).
        photometric: add ``image`` (the photometric term).
        hand_model: the hand model whose faces the silhouette renders (``openhand``).
        rotation_deg: rotation ``U(-r, r)`` degrees about the image centre.
        scale_jitter: scale ``exp(U(-a, a))``.
        shift_px: shift ``U(-s, s)`` input pixels.
        colour: colour-jitter strength (0 = off).
        augment: False: the plain resize.
        seed: base seed.
    """

    def __init__(
        self,
        input_size: int = 384,
        max_hands: int = 2,
        down_ratio: int = 4,
        handedness: bool = True,
        silhouette: bool = True,
        photometric: bool = False,
        hand_model: str = "openhand",
        rotation_deg: float = 40.0,
        scale_jitter: float = 0.2,
        shift_px: float = 5.0,
        colour: float = 1.0,
        augment: bool = True,
        seed: int = 0,
    ) -> None:
        self.input_size, self.max_hands, self.down_ratio = int(input_size), int(max_hands), int(down_ratio)
        self.handedness, self.silhouette, self.photometric = bool(handedness), bool(silhouette), bool(photometric)
        self.hand_model_name = hand_model
        self.rotation, self.scale_jitter, self.shift_px = float(rotation_deg), float(scale_jitter), float(shift_px)
        self.colour, self.augment, self.seed = float(colour), bool(augment), int(seed)
        self._faces: np.ndarray | None = None

    @property
    def faces(self) -> np.ndarray:
        """(F, 3) int64 triangles of the right hand model (the left one is its mirror, same indices)."""
        if self._faces is None:
            from handzoo.registry import build

            hm = build("hand_models", {"type": self.hand_model_name, "side": "right"})
            self._faces = np.asarray(hm.faces, np.int64)
        return self._faces

    def __call__(self, rec: dict[str, Any], index: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, int(index)])
        image = np.asarray(rec["image"])
        h0, w0 = image.shape[:2]
        S = self.input_size
        base = S / float(max(h0, w0))
        angle, scale, shift = 0.0, 1.0, np.zeros(2)
        if self.augment:
            angle = float(rng.uniform(-self.rotation, self.rotation))
            scale = float(np.exp(rng.uniform(-self.scale_jitter, self.scale_jitter)))
            shift = rng.uniform(-self.shift_px, self.shift_px, 2)
            image = (colour_jitter(image, rng, self.colour) * 255.0 + 0.5).astype(np.uint8)
        A = cv2.getRotationMatrix2D((w0 / 2.0, h0 / 2.0), angle, base * scale)
        A[:, 2] += np.array([S / 2.0 - w0 / 2.0, S / 2.0 - h0 / 2.0]) + shift
        net = cv2.warpAffine(image, A, (S, S), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
        x = normalize_bgr(net[:, :, ::-1])  # the authors' BGR input
        n = int(rec["n_hands"])
        K = np.asarray(rec["K"], np.float64)
        j3 = np.asarray(rec["joints3d"], np.float64)[:n]
        uv = j3[..., :2] / j3[..., 2:] * np.array([K[0, 0], K[1, 1]]) + K[:2, 2]
        sides = np.asarray(rec["side"], np.int64)[:n].copy()
        mask = np.asarray(rec["mask"], np.uint8) if self.silhouette else None
        if not self.handedness and n and np.all(sides == LEFT):
            # a right-hand-only model (the single-hand SMHR): left hands are mirrored images of right ones
            net = cv2.warpAffine(image[:, ::-1], A, (S, S), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
            x = normalize_bgr(net[:, :, ::-1])
            uv = np.stack([w0 - 1.0 - uv[..., 0], uv[..., 1]], axis=-1)
            sides[:] = 1 - LEFT
            mask = None if mask is None else np.ascontiguousarray(mask[:, ::-1])
        uv_net = uv @ A[:, :2].T + A[:, 2]
        m = S // self.down_ratio
        k = self.max_hands
        hm = np.zeros((m, m), np.float32)
        handmap = np.zeros((2, m, m), np.float32)
        ind = np.zeros(k, np.int64)
        side = np.zeros(k, np.int64)
        hand_mask = np.zeros(k, np.float32)
        joints2d = np.zeros((k, 21, 2), np.float32)
        for i in range(min(n, k)):
            c = uv_net[i].mean(0) / self.down_ratio
            cx, cy = int(np.clip(c[0], 0, m - 1)), int(np.clip(c[1], 0, m - 1))
            extent = float(np.max(uv_net[i].max(0) - uv_net[i].min(0))) / self.down_ratio
            radius = max(1, int(0.15 * extent))
            centre_gaussian(hm, cx, cy, radius)
            s = int(sides[i])
            centre_gaussian(handmap[0 if s == LEFT else 1], cx, cy, radius)
            ind[i], side[i], hand_mask[i] = cy * m + cx, s, 1.0
            joints2d[i] = uv_net[i]
        out: dict[str, np.ndarray] = {
            "img": np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32),
            "hm": hm[None],
            "ind": ind,
            "side": side,
            "hand_mask": hand_mask,
            "joints2d": joints2d,
        }
        if self.handedness:
            out["handmap"] = handmap
        if self.silhouette:
            mask = cv2.warpAffine(mask, A, (S, S), flags=cv2.INTER_LINEAR)
            out["skin_mask"] = (mask >= 128).astype(np.float32)
            out["faces"] = self.faces
        if self.photometric:
            out["image"] = np.ascontiguousarray((net.astype(np.float32) / 255.0).transpose(2, 0, 1))
        return out
