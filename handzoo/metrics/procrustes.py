"""Batched alignments exactly as the official evaluation scripts compute them.

Every function works on float64 tensors of shape (..., N, 3) and follows the official numpy code
operation by operation, so results agree with it to rounding (about 1e-15 relative):

* :func:`align_w_scale` / :func:`procrustes_trafo` / :func:`align_by_trafo`: FreiHAND's and HO-3D's
  ``eval.py`` (also used by the DexYCB toolkit and by H2ONet). Reflections are allowed (no
  determinant fix) and both centred sets are divided by their Frobenius norm + 1e-8.
* :func:`rigid_align`: HandOccNet's ``rigid_align`` (Umeyama with the reflection fix, population
  variance of the prediction, ``c = sum(s) / var``).
* :func:`align_scale_translation`: HO-3D's ``align_sc_tr`` (scale from one bone, translation from
  the root, no rotation).

These are handzoo's only similarity alignments: the official variants with their quirks, which the
metrics depend on bit for bit.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = [
    "FREIHAND_EPS",
    "SimilarityTrafo",
    "procrustes_trafo",
    "align_w_scale",
    "align_by_trafo",
    "rigid_align",
    "align_scale_translation",
    "root_align",
]

FREIHAND_EPS = 1e-8  # added to both Frobenius norms in FreiHAND's align_w_scale


class SimilarityTrafo(NamedTuple):
    """FreiHAND's ``return_trafo`` tuple, batched.

    Attributes:
        rotation: (..., 3, 3) ``R = U V^T`` (may be a reflection).
        scale: (...,) sum of the singular values.
        gt_norm: (...,) Frobenius norm of the centred ground truth + 1e-8 (``s1``).
        offset: (..., 3) ``mean(gt) - mean(pred)`` (the official ``t1 - t2``).
    """

    rotation: torch.Tensor
    scale: torch.Tensor
    gt_norm: torch.Tensor
    offset: torch.Tensor


def _frobenius(x: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(x, dim=(-2, -1))


def _procrustes(gt: torch.Tensor, pred: torch.Tensor) -> tuple[torch.Tensor, SimilarityTrafo, torch.Tensor]:
    # in-place divisions keep the temporaries to two point sets (large meshes, whole datasets)
    t1 = gt.mean(dim=-2, keepdim=True)
    t2 = pred.mean(dim=-2, keepdim=True)
    gn = gt - t1
    s1 = _frobenius(gn) + FREIHAND_EPS
    gn.div_(s1[..., None, None])
    pn = pred - t2
    s2 = _frobenius(pn) + FREIHAND_EPS
    pn.div_(s2[..., None, None])
    # scipy.linalg.orthogonal_procrustes(gn, pn): svd(gn^T pn) = U S V^T, R = U V^T, scale = sum(S)
    u, sv, vh = torch.linalg.svd(gn.transpose(-1, -2) @ pn)
    del gn
    rot = u @ vh
    scale = sv.sum(-1)
    trafo = SimilarityTrafo(rot, scale, s1, (t1 - t2)[..., 0, :])
    return pn, trafo, t1


def procrustes_trafo(gt: torch.Tensor, pred: torch.Tensor) -> SimilarityTrafo:
    """The transform FreiHAND's ``align_w_scale(gt, pred, return_trafo=True)`` returns, batched.

    Args:
        gt: (..., N, 3) float64 ground truth.
        pred: (..., N, 3) float64 prediction (same shape).

    Returns:
        A :class:`SimilarityTrafo`.
    """
    return _procrustes(gt, pred)[1]


def align_w_scale(gt: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """Align ``pred`` onto ``gt`` as FreiHAND's ``align_w_scale`` (reflections allowed, 1e-8 epsilon).

    ``Gn = (G - mean G) / (|G - mean G|_F + 1e-8)``, likewise ``Pn``; ``U S V^T = svd(Gn^T Pn)``;
    result ``= ((Pn R^T) * sum(S)) * sG + mean(G)`` with ``R = U V^T``. An all-zero (or constant)
    prediction therefore lands on the ground-truth centroid.

    Args:
        gt: (..., N, 3) float64 ground truth.
        pred: (..., N, 3) float64 prediction.

    Returns:
        (..., N, 3) aligned prediction.
    """
    pn, trafo, t1 = _procrustes(gt, pred)
    out = pn @ trafo.rotation.transpose(-1, -2)
    del pn
    out.mul_(trafo.scale[..., None, None]).mul_(trafo.gt_norm[..., None, None])
    return out.add_(t1)


def align_by_trafo(points: torch.Tensor, trafo: SimilarityTrafo) -> torch.Tensor:
    """Apply a joint-derived transform to other points, as FreiHAND's ``align_by_trafo``.

    Quirk kept on purpose: the points are centred on their own mean but *not* divided by the
    prediction's norm, so the result is scaled by ``scale * gt_norm`` rather than by the similarity
    scale. FreiHAND uses this only for non-MANO meshes, where it only affects the aligned F-scores.

    Args:
        points: (..., M, 3) float64.
        trafo: from :func:`procrustes_trafo` (batch shape matching ``points``).

    Returns:
        (..., M, 3) transformed points.
    """
    t2 = points.mean(dim=-2, keepdim=True)
    out = ((points - t2) @ trafo.rotation.transpose(-1, -2)) * trafo.scale[..., None, None]
    out = out * trafo.gt_norm[..., None, None]
    return out + trafo.offset[..., None, :] + t2


def rigid_align(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """HandOccNet's ``rigid_align(pred, gt)``: Umeyama similarity with the reflection fix, batched.

    ``H = (A - cA)^T (B - cB) / n``, ``U S V^T = svd(H)``, ``R = V U^T``; when ``det R < 0`` the last
    singular value and the last row of ``V^T`` are negated; ``c = sum(S) / sum(var(A))`` (population
    variance); result ``= c R a + (cB - c R cA)``.

    A prediction whose points all coincide (an all-zero or constant prediction) has zero variance
    up to the rounding of its mean: the official code then multiplies that rounding noise by a
    finite factor and lands on the ground-truth centroid (or, when numpy's mean happens to be
    exact, gets 0/0 = NaN). Here such samples always land on the centroid, the official outcome
    in practice.

    Args:
        pred: (..., N, 3) float64 prediction (``A``).
        gt: (..., N, 3) float64 ground truth (``B``).

    Returns:
        (..., N, 3) aligned prediction.
    """
    n = pred.shape[-2]
    ca = pred.mean(dim=-2, keepdim=True)
    cb = gt.mean(dim=-2, keepdim=True)
    h = (pred - ca).transpose(-1, -2) @ (gt - cb) / n
    u, sv, vh = torch.linalg.svd(h)
    flip = torch.linalg.det(vh.transpose(-1, -2) @ u.transpose(-1, -2)) < 0
    sign = torch.where(flip, -1.0, 1.0).to(sv.dtype)
    sv = torch.cat([sv[..., :2], sv[..., 2:] * sign[..., None]], dim=-1)
    vh = torch.cat([vh[..., :2, :], vh[..., 2:, :] * sign[..., None, None]], dim=-2)
    rot = vh.transpose(-1, -2) @ u.transpose(-1, -2)
    centred = pred - ca
    var = (centred * centred).mean(dim=-2).sum(-1)
    c = (1.0 / var) * sv.sum(-1)
    # zero spread up to the rounding of the mean: the official result is the GT centroid (c R e ~ 0)
    degenerate = var <= (64 * torch.finfo(pred.dtype).eps * ca.abs().amax(dim=(-2, -1))) ** 2
    c = torch.where(degenerate, torch.zeros_like(c), c)
    cr = c[..., None, None] * rot
    t = cb[..., 0, :] - (cr @ ca[..., 0, :, None])[..., 0]
    return pred @ cr.transpose(-1, -2) + t[..., None, :]


def align_scale_translation(gt: torch.Tensor, pred: torch.Tensor, bone: tuple[int, int] = (0, 4)) -> torch.Tensor:
    """HO-3D's ``align_sc_tr``: match the length of one bone, then the root position.

    ``P' = P / |P[b1] - P[b0]|`` (skipped when that length is 0), ``P' *= |G[b1] - G[b0]|``,
    ``P'' = P' - P'[0] + G[0]``. No rotation. HO-3D's bone is 0 -> 4 (wrist -> middle MCP in HO-3D
    order) and its root is joint 0.

    Args:
        gt: (..., 21, 3) float64 ground truth.
        pred: (..., 21, 3) float64 prediction.
        bone: the two joint indices whose distance sets the scale.

    Returns:
        (..., 21, 3) aligned prediction.
    """
    b0, b1 = bone
    d = pred[..., b1, :] - pred[..., b0, :]
    s = torch.sqrt((d * d).sum(-1))[..., None, None]
    cur = torch.where(s > 0, pred / torch.where(s > 0, s, torch.ones_like(s)), pred)
    dg = gt[..., b1, :] - gt[..., b0, :]
    cur = cur * torch.sqrt((dg * dg).sum(-1))[..., None, None]
    return (cur - cur[..., :1, :]) + gt[..., :1, :]


def root_align(points: torch.Tensor, root: int = 0) -> torch.Tensor:
    """Subtract joint ``root`` from every point: (..., N, 3) -> (..., N, 3)."""
    return points - points[..., root : root + 1, :]
