"""Part labels for training DIGIT, rendered from a hand model's part assignment.

DIGIT's segmentation target has 33 classes: 0 background, 1-16 the right hand's parts, 17-32 the
left hand's (the authors rendered MANO's 16 parts offline). Here a vertex belongs to the part of
the kinematic joint that skins it most (argmax of the hand model's LBS weights: part ``k`` is the
model's joint ``k``, MANO's order for MANO and the open hand), and a pixel takes the part of the
visible face's first vertex (:func:`handzoo.render.raster.rasterize`, z-buffered over both hands,
so an occluding hand wins).
"""

from __future__ import annotations

import torch

from handzoo.errors import ConfigError
from handzoo.render.raster import rasterize

__all__ = ["vertex_parts", "render_part_labels"]


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
