"""Part labels for training DIGIT, rendered from a hand model's part assignment.

DIGIT's segmentation target has 33 classes: 0 background, 1-16 the right hand's parts, 17-32 the
left hand's (the authors rendered MANO's 16 parts offline). Here a vertex belongs to the part of
the kinematic joint that skins it most (argmax of the hand model's LBS weights: part ``k`` is the
model's joint ``k``, MANO's order for MANO and the open hand), and a pixel takes the part of the
visible face's first vertex (:func:`handzoo.render.raster.rasterize`, z-buffered over both hands,
so an occluding hand wins).

:class:`PartLabeller` does it for a training scene record (:func:`handzoo.train.data.sample_to_scene`):
it places each hand's mesh in the camera (:func:`handzoo.handmodels.placement.record_hand_vertices`:
the record's own vertices, or the hand model posed with the record's parameters and moved by
``transl``, by a world-frame fit's translation, or onto the annotated wrist) and renders the labels in the crop's
camera, intrinsics ``A @ K`` for the crop's affine map ``A``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from handzoo.errors import ConfigError
from handzoo.handmodels.placement import record_hand_vertices
from handzoo.render.raster import rasterize
from handzoo.types import LEFT, RIGHT

__all__ = ["vertex_parts", "render_part_labels", "PartLabeller", "crop_intrinsics", "read_parts_file"]


def vertex_parts(hand_model: torch.nn.Module) -> torch.Tensor:
    """(V,) int64 part of each vertex (0..J-1): the joint with the largest skinning weight.

    Raises:
        ConfigError: the hand model has no ``lbs_weights`` (V, J) buffer.
    """
    w = getattr(hand_model, "lbs_weights", None)
    if not isinstance(w, torch.Tensor) or w.dim() != 2:
        raise ConfigError(
            "the hand model has no (V, J) lbs_weights buffer to assign parts from",
            hint="use an LBS hand model: handzoo.registry.build('hand_models', {'type': 'mano' or 'openhand', ...})",
        )
    return w.argmax(1)


def render_part_labels(
    right: torch.Tensor | None,
    left: torch.Tensor | None,
    faces_right: torch.Tensor,
    faces_left: torch.Tensor,
    parts_right: torch.Tensor,
    parts_left: torch.Tensor,
    K: torch.Tensor,
    image_size: tuple[int, int],
) -> torch.Tensor:
    """Render DIGIT's part-label image of up to two hands.

    Args:
        right, left: (V, 3) camera-frame vertices (metres, OpenCV) of each hand, or None.
        faces_right, faces_left: (F, 3) triangles of each hand model.
        parts_right, parts_left: (V,) part of each vertex (:func:`vertex_parts`), 0..15.
        K: (3, 3) intrinsics of the image the labels are for (e.g. the crop's).
        image_size: ``(H, W)``.

    Returns:
        (H, W) int64 labels: 0 background, 1 + part for the right hand, 17 + part for the left.
    """
    verts, faces, labels = [], [], []
    offset = 0
    for v, f, p, base in ((right, faces_right, parts_right, 1), (left, faces_left, parts_left, 17)):
        if v is None:
            continue
        verts.append(v)
        faces.append(f.long() + offset)
        labels.append(p.long()[f.long()[:, 0]] + base)
        offset += v.shape[0]
    h, w = image_size
    if not verts:
        return torch.zeros(h, w, dtype=torch.long)
    frags = rasterize(torch.cat(verts)[None], torch.cat(faces), K, (h, w))
    face_label = torch.cat(labels)
    pix = frags.pix_to_face[0]
    out = torch.zeros(h, w, dtype=torch.long, device=pix.device)
    hit = pix >= 0
    out[hit] = face_label.to(pix.device)[pix[hit]]
    return out


def crop_intrinsics(K: np.ndarray, trans: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """(3, 3) intrinsics of a crop: the image -> crop affine ``trans`` (2, 3) after ``K``, then a
    uniform ``scale`` (e.g. 0.5 for DIGIT's 128-pixel labels of a 256-pixel crop: label pixel ``i``
    is crop pixel ``2 i``, the nearest-neighbour subsampling the authors apply to their labels)."""
    A = np.eye(3)
    A[:2] = np.asarray(trans, np.float64).reshape(2, 3)
    return np.diag([float(scale), float(scale), 1.0]) @ A @ np.asarray(K, np.float64)


class PartLabeller:
    """DIGIT's part labels of a training scene record, rendered from a hand model's parts.

    Args:
        hand_model: ``'openhand'`` or ``'mano'`` (right and left models; faces and parts from them).
        mano_dir: folder of ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` for ``'mano'`` (default
            ``$HANDZOO_MANO_DIR``).
        parts_file: a JSON list with the part (0-15) of every vertex of the model, used for
            both hands instead of :func:`vertex_parts` (extra trailing entries, e.g. a sealed
            wrist vertex, are ignored). The authors' ``vertex_segments_right_seal.json`` (their
            repository) numbers MANO's parts their way, not in the kinematic order (its palm is
            part 8): give it to train with their numbering, e.g. to fine-tune their weights.

    Raises:
        ConfigError: unknown hand model, or a parts file that does not fit the model.
        AssetError: MANO files missing.
    """

    def __init__(
        self,
        hand_model: str = "openhand",
        mano_dir: str | os.PathLike | None = None,
        parts_file: str | os.PathLike | None = None,
    ) -> None:
        from handzoo.handmodels import hand_model as build_hand_model

        self.name = str(hand_model)
        kw: dict[str, Any] = {"mano_dir": mano_dir} if self.name == "mano" else {}
        # flat_hand_mean=False: the model adds its mean pose; flat-convention records subtract it first
        self.models = {
            side: build_hand_model(self.name, side=name, flat_hand_mean=False, dtype=torch.float64, **kw).eval()
            for side, name in ((RIGHT, "right"), (LEFT, "left"))
        }
        self.faces = {s: m.faces.long() for s, m in self.models.items()}
        self.num_vertices = {s: int(m.num_vertices) for s, m in self.models.items()}
        if parts_file is None:
            self.parts = {s: vertex_parts(m) for s, m in self.models.items()}
        else:
            own = read_parts_file(parts_file, self.num_vertices[RIGHT])
            self.parts = {RIGHT: own, LEFT: own.clone()}

    def hand_vertices(self, rec: Mapping[str, Any], h: int) -> torch.Tensor | None:
        """(V, 3) float64 camera-frame vertices of hand ``h`` of a scene record, or None if the
        record cannot place it (:func:`handzoo.handmodels.placement.record_hand_vertices`)."""
        side = int(np.asarray(rec["side"]).reshape(-1)[h])
        return record_hand_vertices(self.models[side], self.name, rec, h)

    def __call__(self, rec: Mapping[str, Any], K: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, bool]:
        """``(labels (H, W) int64, valid)`` for every hand of the record in the camera ``K``.

        ``valid`` is False (labels all zero) when a hand of the record cannot be placed: rendering
        only the others would teach background where that hand is.
        """
        n = int(rec.get("n_hands", 1))
        sides = np.asarray(rec["side"]).reshape(-1)[:n]
        placed: dict[int, torch.Tensor] = {}
        for h in range(n):
            v = self.hand_vertices(rec, h)
            if v is None or int(sides[h]) in placed:
                return np.zeros(size, np.int64), False
            placed[int(sides[h])] = v
        # placed in float64 above, rasterised in float32 (labels need no more)
        r, left = (placed[s].float() if s in placed else None for s in (RIGHT, LEFT))
        with torch.no_grad():
            labels = render_part_labels(
                r,
                left,
                self.faces[RIGHT],
                self.faces[LEFT],
                self.parts[RIGHT],
                self.parts[LEFT],
                torch.as_tensor(K, dtype=torch.float32),
                size,
            )
        return labels.numpy(), True


def read_parts_file(path: str | os.PathLike, num_vertices: int) -> torch.Tensor:
    """(V,) int64 parts from a JSON list of per-vertex part ids (0-15; entries past V ignored).

    Raises:
        ConfigError: unreadable, shorter than V, or a part outside 0-15.
    """
    import json
    from pathlib import Path

    hint = "give a JSON list with one part id (0-15) per vertex of the hand model"
    try:
        ids = np.asarray(json.loads(Path(os.path.expanduser(str(path))).read_text()), dtype=np.int64).reshape(-1)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read the parts file {path}: {exc}", hint=hint) from None
    if ids.shape[0] < num_vertices or ids[:num_vertices].min() < 0 or ids[:num_vertices].max() > 15:
        raise ConfigError(
            f"the parts file {path} has {ids.shape[0]} ids in {ids.min() if ids.size else '-'}.."
            f"{ids.max() if ids.size else '-'}; the hand model has {num_vertices} vertices and 16 parts",
            hint=hint,
        )
    return torch.as_tensor(ids[:num_vertices])
