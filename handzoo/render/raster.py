"""Pure-torch triangle rasteriser: z-buffer with perspective-correct barycentrics, soft silhouette.

Meshes are in the OpenCV camera frame (x right, y down, z forward) and are projected with pinhole
intrinsics ``K``; pixel ``(u, v)`` samples the image plane at its centre (integer coordinates are
pixel centres, as everywhere in handzoo).

The work is vectorised over (face, pixel) pairs: each face enumerates the pixels of its screen
bounding box, faces are processed in chunks bounded by ``max_pairs`` pairs (bounding-box tiling),
so memory stays bounded and there is no per-pixel Python loop. The visibility search runs without
autograd; barycentrics of the winning pairs are then recomputed with autograd so interpolated
attributes are differentiable with respect to the vertices (like pytorch3d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from handzoo.errors import RenderError
from handzoo.render._threads import single_threaded

__all__ = ["Fragments", "project_vertices", "rasterize", "soft_silhouette", "check_mesh"]

_DEFAULT_MAX_PAIRS = 1 << 21


@dataclass
class Fragments:
    """Per-pixel result of rasterisation (one face per pixel).

    Attributes:
        pix_to_face: (B, H, W) int64 index of the visible face, -1 for background.
        zbuf: (B, H, W) camera-frame depth of the visible surface, ``inf`` for background.
        bary: (B, H, W, 3) perspective-correct barycentric coordinates (0 for background).
    """

    pix_to_face: torch.Tensor
    zbuf: torch.Tensor
    bary: torch.Tensor

    @property
    def mask(self) -> torch.Tensor:
        """(B, H, W) bool coverage."""
        return self.pix_to_face >= 0


def check_mesh(
    vertices: torch.Tensor, faces: torch.Tensor, K: torch.Tensor, image_size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[int, int]]:
    """Validate and broadcast renderer inputs.

    Returns:
        ``vertices (B, V, 3)``, ``faces (F, 3) int64``, ``K (B, 3, 3)`` and ``(H, W)``.

    Raises:
        RenderError: on wrong shapes, non-finite values or out-of-range face indices.
    """
    if not isinstance(vertices, torch.Tensor) or vertices.shape[-1:] != (3,) or vertices.ndim not in (2, 3):
        raise RenderError(f"vertices must be a (V, 3) or (B, V, 3) tensor, got {_shape(vertices)}")
    if vertices.ndim == 2:
        vertices = vertices[None]
    if not isinstance(faces, torch.Tensor) or faces.ndim != 2 or faces.shape[1] != 3:
        raise RenderError(f"faces must be an (F, 3) integer tensor, got {_shape(faces)}")
    if faces.is_floating_point():
        raise RenderError("faces must hold integer vertex indices, got a float tensor")
    faces = faces.long().to(vertices.device)
    if faces.numel() and (int(faces.min()) < 0 or int(faces.max()) >= vertices.shape[1]):
        raise RenderError(f"face indices must lie in [0, {vertices.shape[1] - 1}]")
    K = torch.as_tensor(K, dtype=vertices.dtype, device=vertices.device)
    if K.shape[-2:] != (3, 3) or K.ndim not in (2, 3):
        raise RenderError(f"K must be (3, 3) or (B, 3, 3), got {tuple(K.shape)}")
    K = K.expand(vertices.shape[0], 3, 3) if K.ndim == 2 else K
    if K.shape[0] != vertices.shape[0]:
        raise RenderError(f"K has batch {K.shape[0]} for {vertices.shape[0]} meshes")
    try:
        h, w = (int(s) for s in image_size)
    except (TypeError, ValueError) as exc:
        raise RenderError(f"image_size must be (H, W), got {image_size!r}") from exc
    if h <= 0 or w <= 0:
        raise RenderError(f"image size must be positive, got {h}x{w}")
    if not torch.isfinite(vertices).all():
        raise RenderError("vertices contain NaN or infinite values")
    return vertices, faces, K, (h, w)


def _shape(x: object) -> str:
    return str(tuple(x.shape)) if isinstance(x, torch.Tensor) else type(x).__name__


def project_vertices(vertices: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Project (B, V, 3) camera points with (B, 3, 3) intrinsics to (B, V, 3) ``(u, v, z)``."""
    z = vertices[..., 2:3]
    zs = torch.where(z.abs() < 1e-12, torch.full_like(z, 1e-12), z)
    uvw = vertices @ K.transpose(-1, -2)
    return torch.cat([uvw[..., :2] / zs, z], -1)


def _face_boxes(p: torch.Tensor, h: int, w: int, margin: float) -> tuple[torch.Tensor, ...]:
    """Integer pixel bounding boxes (inclusive) of (F, 3, 2) screen triangles, clipped."""
    lo = p.amin(1) - margin
    hi = p.amax(1) + margin
    x0 = torch.ceil(lo[:, 0]).clamp(0, w - 1).long()
    y0 = torch.ceil(lo[:, 1]).clamp(0, h - 1).long()
    x1 = torch.floor(hi[:, 0]).clamp(-1, w - 1).long()
    y1 = torch.floor(hi[:, 1]).clamp(-1, h - 1).long()
    off = (hi[:, 0] < 0) | (hi[:, 1] < 0) | (lo[:, 0] > w - 1) | (lo[:, 1] > h - 1)
    bw = (x1 - x0 + 1).clamp(min=0)
    bh = (y1 - y0 + 1).clamp(min=0)
    bw = torch.where(off, torch.zeros_like(bw), bw)
    return x0, y0, bw, bh


def _pairs(
    face_ids: torch.Tensor, x0: torch.Tensor, y0: torch.Tensor, bw: torch.Tensor, bh: torch.Tensor, max_pairs: int
):
    """Yield (face, px, py) index tensors for the pixels of each face's box, in bounded chunks."""
    counts = bw * bh
    keep = counts > 0
    face_ids, x0, y0, bw, counts = face_ids[keep], x0[keep], y0[keep], bw[keep], counts[keep]
    if face_ids.numel() == 0:
        return
    csum = torch.cumsum(counts, 0)
    start = 0
    n = face_ids.numel()
    while start < n:
        base = int(csum[start - 1]) if start > 0 else 0
        end = int(torch.searchsorted(csum, torch.tensor(base + max_pairs, device=csum.device), right=True))
        end = max(end, start + 1)
        c = counts[start:end]
        idx = torch.repeat_interleave(torch.arange(start, end, device=c.device), c)
        first = torch.repeat_interleave(torch.cumsum(c, 0) - c, c)
        local = torch.arange(int(c.sum()), device=c.device) - first
        px = x0[idx] + local % bw[idx]
        py = y0[idx] + torch.div(local, bw[idx], rounding_mode="floor")
        yield face_ids[idx], px, py
        start = end


def _edge(a: torch.Tensor, b: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    return (b[..., 0] - a[..., 0]) * (py - a[..., 1]) - (b[..., 1] - a[..., 1]) * (px - a[..., 0])


def _screen_bary(tri: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Screen-space barycentrics (P, 3) of pixels in (P, 3, 2) triangles."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    area = _edge(a, b, c[:, 0], c[:, 1])
    area = torch.where(area.abs() < 1e-12, torch.full_like(area, 1e-12), area)
    w0 = _edge(b, c, px, py) / area
    w1 = _edge(c, a, px, py) / area
    return torch.stack([w0, w1, 1.0 - w0 - w1], -1)


def _perspective_bary(lam: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Perspective-correct barycentrics and depth from screen barycentrics ``lam`` and vertex depths."""
    q = lam / z
    inv = q.sum(-1, keepdim=True)
    return q / inv, 1.0 / inv.squeeze(-1)


def _expand(counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For segments of the given lengths: (segment index, position within the segment) per element."""
    seg = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts)
    first = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    return seg, torch.arange(seg.numel(), device=counts.device) - first


def _linear_coeffs(p2: torch.Tensor, inv_z: torch.Tensor) -> torch.Tensor:
    """Per face, screen-linear coefficients (A, B, C) of l0, l1, l2 and of 1/z: (F, 4, 3).

    ``l_i(x, y) = A x + B y + C`` are the screen barycentrics; ``1/z`` is linear in screen space
    too, which is what makes perspective-correct interpolation cheap.
    """
    a, b, c = p2[:, 0], p2[:, 1], p2[:, 2]
    area = _edge(a, b, c[:, 0], c[:, 1])

    def lin(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        dx, dy = q[:, 0] - p[:, 0], q[:, 1] - p[:, 1]
        return torch.stack([-dy, dx, dy * p[:, 0] - dx * p[:, 1]], -1) / area[:, None]

    l0, l1 = lin(b, c), lin(c, a)
    l2 = -l0 - l1
    l2[:, 2] += 1.0
    lz = l0 * inv_z[:, 0:1] + l1 * inv_z[:, 1:2] + l2 * inv_z[:, 2:3]
    return torch.stack([l0, l1, l2, lz], 1)


def _spans(
    coef: torch.Tensor, py: torch.Tensor, x0: torch.Tensor, x1: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inclusive integer x range covered on row ``py`` by each (face, row): three half-planes."""
    eps = 1e-6
    lo = x0.to(coef.dtype)
    hi = x1.to(coef.dtype)
    for i in range(3):
        A, B, C = coef[:, i, 0], coef[:, i, 1], coef[:, i, 2]
        rest = B * py + C
        bound = (-eps - rest) / torch.where(A.abs() > 1e-12, A, torch.ones_like(A))
        lo = torch.where(A > 1e-12, torch.maximum(lo, bound), lo)
        hi = torch.where(A < -1e-12, torch.minimum(hi, bound), hi)
        dead = (A.abs() <= 1e-12) & (rest < -eps)
        hi = torch.where(dead, lo - 1.0, hi)
    return torch.ceil(lo - 1e-4).long(), torch.floor(hi + 1e-4).long()


def _visible_pairs(
    proj: torch.Tensor, faces: torch.Tensor, h: int, w: int, znear: float, cull_backfaces: bool, max_pairs: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """Z-buffer search for one mesh: (pixel index, winning face, full z-buffer) or None.

    Each face enumerates, row by row of its bounding box, only the pixel span its three edges
    admit, so the work is proportional to the covered area, not to the boxes.
    """
    tri = proj[faces].double()  # (F, 3, 3); float64 keeps depth ties between close surfaces exact
    zf = tri[..., 2]
    p2 = tri[..., :2]
    area = _edge(p2[:, 0], p2[:, 1], p2[:, 2, 0], p2[:, 2, 1])
    ok = (zf > znear).all(1) & (area.abs() > 1e-10)
    if cull_backfaces:
        ok &= area < 0
    fids = torch.nonzero(ok).squeeze(1)
    x0, y0, bw, bh = _face_boxes(p2[fids], h, w, 0.0)
    keep = (bw > 0) & (bh > 0)
    fids, x0, y0, bw, bh = fids[keep], x0[keep], y0[keep], bw[keep], bh[keep]
    if fids.numel() == 0:
        return None
    coef_all = _linear_coeffs(p2[fids], 1.0 / zf[fids])
    hits_pix, hits_z, hits_face = [], [], []
    csum = torch.cumsum(bw * bh, 0)
    start, n = 0, fids.numel()
    while start < n:
        base = int(csum[start - 1]) if start > 0 else 0
        end = max(int(torch.searchsorted(csum, torch.tensor(base + max_pairs), right=True)), start + 1)
        # rows of each face's box, then the covered span of each row
        r_face, r_off = _expand(bh[start:end])
        r_face += start
        py = y0[r_face] + r_off
        coef = coef_all[r_face]
        xs, xe = _spans(coef, py.to(coef.dtype), x0[r_face], x0[r_face] + bw[r_face] - 1)
        cnt = (xe - xs + 1).clamp(min=0)
        seg, off = _expand(cnt)
        px = xs[seg] + off
        pyy = py[seg]
        c = coef[seg]
        xf, yf = px.to(c.dtype), pyy.to(c.dtype)
        lam = c[:, :, 0] * xf[:, None] + c[:, :, 1] * yf[:, None] + c[:, :, 2]  # (P, 4)
        inside = (lam[:, :3] >= -1e-6).all(-1)
        f = fids[r_face[seg]][inside]
        hits_pix.append((pyy * w + px)[inside])
        hits_z.append(1.0 / lam[inside, 3])
        hits_face.append(f)
        start = end
    pix = torch.cat(hits_pix)
    if pix.numel() == 0:
        return None
    z = torch.cat(hits_z)
    fc = torch.cat(hits_face)
    zb = torch.full((h * w,), math.inf, dtype=z.dtype, device=z.device)
    zb = zb.scatter_reduce(0, pix, z, reduce="amin", include_self=True)
    win = z <= zb[pix]
    # ties (shared edges, coplanar faces): the largest face index wins, deterministically
    best = torch.full((h * w,), -1, dtype=torch.long, device=z.device)
    best = best.scatter_reduce(0, pix[win], fc[win], reduce="amax", include_self=True)
    sel = win & (fc == best[pix])
    return pix[sel], fc[sel], zb.to(proj.dtype)


@single_threaded
def rasterize(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    K: torch.Tensor,
    image_size: tuple[int, int],
    znear: float = 1e-3,
    cull_backfaces: bool = False,
    max_pairs: int = _DEFAULT_MAX_PAIRS,
) -> Fragments:
    """Rasterise triangle meshes with a z-buffer.

    Args:
        vertices: (B, V, 3) or (V, 3) camera-frame vertices (metres, OpenCV frame).
        faces: (F, 3) vertex indices shared by the batch.
        K: (3, 3) or (B, 3, 3) intrinsics.
        image_size: ``(H, W)``.
        znear: faces with a vertex closer than this (or behind the camera) are skipped.
        cull_backfaces: skip faces whose normal (right-hand rule over the vertex order) points
            away from the camera.
        max_pairs: chunk size bound (face-pixel pairs held at once).

    Returns:
        :class:`Fragments`.
    """
    vertices, faces, K, (h, w) = check_mesh(vertices, faces, K, image_size)
    bsz = vertices.shape[0]
    dev, dt = vertices.device, vertices.dtype
    pix_to_face = torch.full((bsz, h * w), -1, dtype=torch.long, device=dev)
    zbuf = torch.full((bsz, h * w), math.inf, dtype=dt, device=dev)
    barys = [torch.zeros((h * w, 3), dtype=dt, device=dev) for _ in range(bsz)]
    proj = project_vertices(vertices, K) if faces.numel() else None
    for b in range(bsz if faces.numel() else 0):
        with torch.no_grad():
            found = _visible_pairs(proj[b].detach(), faces, h, w, znear, cull_backfaces, max_pairs)
        if found is None:
            continue
        pix, fc, zb = found
        zbuf[b] = zb
        pix_to_face[b, pix] = fc
        # differentiable barycentrics of the visible pairs
        tri = proj[b][faces[fc]]
        pxf = (pix % w).to(dt)
        pyf = torch.div(pix, w, rounding_mode="floor").to(dt)
        bc, _ = _perspective_bary(_screen_bary(tri[..., :2], pxf, pyf), tri[..., 2])
        barys[b] = barys[b].index_put((pix,), bc)
    bary = torch.stack(barys, 0)
    return Fragments(pix_to_face.view(bsz, h, w), zbuf.view(bsz, h, w), bary.view(bsz, h, w, 3))


def _point_segment_dist2(px: torch.Tensor, py: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    abx, aby = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    apx, apy = px - a[:, 0], py - a[:, 1]
    t = ((apx * abx + apy * aby) / (abx * abx + aby * aby).clamp(min=1e-12)).clamp(0.0, 1.0)
    dx, dy = apx - t * abx, apy - t * aby
    return dx * dx + dy * dy


@single_threaded
def soft_silhouette(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    K: torch.Tensor,
    image_size: tuple[int, int],
    sigma: float = 1.0,
    znear: float = 1e-3,
    eps: float = 1e-4,
    max_pairs: int = _DEFAULT_MAX_PAIRS,
) -> torch.Tensor:
    """Differentiable silhouette (SoftRas-style aggregation), for mask losses.

    Each face covers a pixel with probability ``sigmoid(+-d^2 / sigma)``, where ``d`` is the
    pixel's distance (in pixels) to the face's screen triangle, positive inside; coverage is
    ``1 - prod(1 - p)`` over faces. Faces are considered only within the distance where ``p``
    drops below ``eps``.

    Args:
        vertices, faces, K, image_size: as :func:`rasterize`.
        sigma: edge softness in squared pixels (smaller is sharper).
        znear: faces closer than this are skipped.
        eps: probability below which a face is ignored.
        max_pairs: chunk size bound.

    Returns:
        (B, H, W) silhouette in [0, 1], differentiable w.r.t. ``vertices``.
    """
    if sigma <= 0:
        raise RenderError(f"sigma must be positive, got {sigma}")
    vertices, faces, K, (h, w) = check_mesh(vertices, faces, K, image_size)
    bsz = vertices.shape[0]
    proj = project_vertices(vertices, K)
    margin = math.sqrt(sigma * math.log(1.0 / eps))
    outs = []
    for b in range(bsz):
        tri = proj[b][faces]
        with torch.no_grad():
            ok = (tri[..., 2] > znear).all(1)
            fids = torch.nonzero(ok).squeeze(1)
            x0, y0, bw, bh = _face_boxes(tri[fids, :, :2].detach(), h, w, margin)
        log_empty = torch.zeros(h * w, dtype=vertices.dtype, device=vertices.device)
        for f, px, py in _pairs(fids, x0, y0, bw, bh, max_pairs):
            t = tri[f, :, :2]
            pxf, pyf = px.to(t.dtype), py.to(t.dtype)
            lam = _screen_bary(t, pxf, pyf)
            inside = (lam >= 0).all(-1)
            d2 = torch.minimum(
                torch.minimum(
                    _point_segment_dist2(pxf, pyf, t[:, 0], t[:, 1]), _point_segment_dist2(pxf, pyf, t[:, 1], t[:, 2])
                ),
                _point_segment_dist2(pxf, pyf, t[:, 2], t[:, 0]),
            )
            sign = torch.where(inside, torch.ones_like(d2), -torch.ones_like(d2))
            prob = torch.sigmoid(sign * d2 / sigma)
            log_empty = log_empty.index_add(0, py * w + px, torch.log1p(-prob.clamp(max=1.0 - 1e-6)))
        outs.append(1.0 - torch.exp(log_empty))
    return torch.stack(outs, 0).view(bsz, h, w)
