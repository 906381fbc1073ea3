"""Write samples to disk in the FreiHAND layout (what ``handzoo data synth`` produces).

The official files hold the first hand of each image (FreiHAND has one hand per image):
``<split>_K.json``, ``_xyz.json``, ``_verts.json``, ``_scale.json`` (bone 9-10 length),
``_mano.json`` (pose 48, shape 10, ``uv_root`` = projected joint 9, ``scale`` = focal / z of joint
9, as FreiHAND's ``split_theta``), images ``<split>/rgb/%08d.jpg`` and masks
``<split>/mask/%08d.jpg``. ``<split>_handzoo.json`` adds what the layout cannot hold: every hand's
side and MANO translation, the extra hands of two-hand images, and the generator settings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from handzoo.errors import ConfigError, HandzooError
from handzoo.types import SIDE_NAMES, Sample

__all__ = ["write_freihand_layout"]


def _theta(sample: Sample, i: int) -> list[float]:
    """FreiHAND's 61-number MANO record of hand ``i``: pose, shape, uv_root (joint 9), scale."""
    mano = sample.mano or {}
    go = np.asarray(mano.get("global_orient", np.zeros((sample.num_hands, 3))))[i]
    hp = np.asarray(mano.get("hand_pose", np.zeros((sample.num_hands, 45))))[i]
    be = np.asarray(mano.get("betas", np.zeros((sample.num_hands, 10))))[i][:10]
    be = np.pad(be, (0, 10 - be.shape[0]))
    root = sample.joints3d[i, 9].astype(np.float64)
    K = sample.K.astype(np.float64)
    uv = (K @ root)[:2] / root[2]
    focal = 0.5 * (K[0, 0] + K[1, 1])
    return [float(x) for x in np.concatenate([go, hp, be, uv, [focal / root[2]]])]


def _write_jpg(path: Path, image: np.ndarray, quality: int) -> None:
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(image), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise HandzooError(f"could not encode {path}")
    path.write_bytes(buf.tobytes())


def _atomic_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def write_freihand_layout(
    samples: Iterable[Sample],
    out: str | os.PathLike,
    split: str = "training",
    quality: int = 95,
    extra_info: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write samples (with joints, vertices, MANO and mask) as a FreiHAND-layout folder.

    Args:
        samples: the samples, in order (index = file number).
        out: the output folder (created).
        split: ``training`` or ``evaluation`` file prefix.
        quality: JPEG quality of the images (masks are written at 100).
        extra_info: recorded in the sidecar (seed, generator settings).
        progress: called with the number of samples written so far.

    Returns:
        The number of samples written.

    Raises:
        ConfigError: bad split or a sample without the annotations the layout needs.
    """
    if split not in ("training", "evaluation"):
        raise ConfigError(f"split must be 'training' or 'evaluation', got {split!r}")
    root = Path(out)
    (root / split / "rgb").mkdir(parents=True, exist_ok=True)
    (root / split / "mask").mkdir(parents=True, exist_ok=True)
    Ks, xyz, verts, scales, manos, hands = [], [], [], [], [], []
    first_meta: dict[str, Any] = {}
    n = 0
    for n, s in enumerate(samples, start=1):
        i = n - 1
        if i == 0:
            first_meta = dict(s.meta)
        if s.joints3d is None or s.vertices is None or s.num_hands == 0:
            raise ConfigError(f"sample {i} lacks joints or vertices; the FreiHAND layout needs both")
        Ks.append(s.K.astype(np.float64).tolist())
        xyz.append(s.joints3d[0].astype(np.float64).tolist())
        verts.append(np.round(s.vertices[0].astype(np.float64), 7).tolist())
        scales.append(float(np.linalg.norm(s.joints3d[0, 10] - s.joints3d[0, 9])))
        manos.append([_theta(s, 0)])
        recs = []
        for h in range(s.num_hands):
            rec: dict[str, Any] = {"side": SIDE_NAMES[int(s.side[h])]}
            if s.mano is not None and "transl" in s.mano:
                rec["transl"] = s.mano["transl"][h].astype(np.float64).tolist()
            if h > 0:
                rec["xyz"] = s.joints3d[h].astype(np.float64).tolist()
                rec["verts"] = np.round(s.vertices[h].astype(np.float64), 7).tolist()
                rec["mano"] = _theta(s, h)
            recs.append(rec)
        hands.append(recs)
        _write_jpg(root / split / "rgb" / f"{i:08d}.jpg", s.image[:, :, ::-1], quality)
        mask = s.mask if s.mask is not None else np.zeros(s.image.shape[:2], np.uint8)
        _write_jpg(root / split / "mask" / f"{i:08d}.jpg", mask, 100)
        if progress is not None:
            progress(n)
    for name, data in (("K", Ks), ("xyz", xyz), ("verts", verts), ("scale", scales), ("mano", manos)):
        _atomic_json(root / f"{split}_{name}.json", data)
    side_info = {
        "format": "handzoo-freihand-sidecar",
        "version": 1,
        "mano_flat_hand_mean": bool(first_meta.get("mano_flat_hand_mean", True)),
        "hand_model": first_meta.get("hand_model"),
        **(extra_info or {}),
        "hands": hands,
    }
    _atomic_json(root / f"{split}_handzoo.json", side_info)
    return n
