"""Place a training record's hand mesh in its camera frame.

Training transforms that render from the hand model (DIGIT's part labels, 3D-hand's silhouette)
need the record's hand as camera-frame vertices. A record can say where the hand is in several
ways; :func:`record_hand_vertices` takes the first one the record holds, in this order:

1. its own ``vertices`` (when their count is the model's, ``has_vertices`` set);
2. the model posed with ``global_orient``, ``hand_pose``, ``betas`` (only when the record's
   ``hand_model`` is this model: MANO parameters do not pose the open hand) and moved by
   ``transl`` (``has_transl``, or the key present);
3. the same pose moved by a world-frame fit's translation seen through the camera's extrinsics
   (``has_transl_world`` with ``transl_world`` and ``world_to_camera``: InterHand2.6M's
   NeuralAnnot fits, the mesh their renderer makes);
4. else the posed model moved so that its wrist lies on the annotated wrist (``joints3d``
   joint 0), unless ``joints_valid`` marks that wrist invalid.

Records hold one hand (scalar ``side``, ``(21, 3)`` joints) or several (leading hand axis); the
hand is chosen by index.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

__all__ = ["record_hand_vertices"]


def record_hand_vertices(
    model: torch.nn.Module, model_name: str, rec: Mapping[str, Any], h: int = 0
) -> torch.Tensor | None:
    """(V, 3) float64 camera-frame vertices of hand ``h`` of a record, or None when it cannot be
    placed (no vertices of this model, no parameters of this model, no valid wrist).

    Args:
        model: the hand model of the hand's side (float64, ``flat_hand_mean=False``: it adds its
            own mean pose; records in the flat convention, ``flat_hand_mean`` true or absent,
            have it subtracted first).
        model_name: the model's registry name (``'openhand'``, ``'mano'``), compared with the
            record's ``hand_model``.
        rec: the training record (see the module docstring for the keys read).
        h: which hand of a multi-hand record.

    Returns:
        The vertices, or None.
    """
    V = int(model.num_vertices)
    if _flag(rec, "has_vertices", h):
        v = np.asarray(rec["vertices"]).reshape(-1, *np.asarray(rec["vertices"]).shape[-2:])[h]
        if v.shape[0] == V:
            return torch.as_tensor(v, dtype=torch.float64)
    has_params = all(k in rec for k in ("global_orient", "hand_pose", "betas"))
    if not _flag(rec, "has_mano", h, default=has_params) or str(rec.get("hand_model", model_name)) != model_name:
        return None

    def param(key: str, n: int) -> torch.Tensor:
        return torch.as_tensor(np.asarray(rec[key], np.float64).reshape(-1, n)[h])[None]

    hp = param("hand_pose", 45)
    if bool(rec.get("flat_hand_mean", True)):
        hp = hp - model.hand_mean
    with torch.no_grad():
        v, j = model(param("global_orient", 3), hp, param("betas", 10)[:, : int(model.num_betas)])
    v, j = v[0], j[0]
    if _flag(rec, "has_transl", h, default="transl" in rec):
        return v + param("transl", 3)[0]
    if _flag(rec, "has_transl_world", h):
        # world mesh R_w (v - J0) + J0 + t_w seen by the camera (R, t): the camera-frame pose
        # R R_w turns about the same root J0, so the offset is (R - I) J0 + R t_w + t
        w2c = torch.as_tensor(np.asarray(rec["world_to_camera"], np.float64).reshape(3, 4))
        R, t = w2c[:, :3], w2c[:, 3]
        return v + (R @ j[0] - j[0] + R @ param("transl_world", 3)[0] + t)
    jv = rec.get("joints_valid")
    if jv is not None and float(np.asarray(jv).reshape(-1, 21)[h, 0]) <= 0:
        return None
    wrist = torch.as_tensor(np.asarray(rec["joints3d"], np.float64).reshape(-1, 21, 3)[h, 0])
    return v + (wrist - j[0])


def _flag(rec: Mapping[str, Any], key: str, h: int, default: bool = False) -> bool:
    if key not in rec:
        return bool(default)
    return bool(np.asarray(rec[key]).reshape(-1)[h])
