"""Render one synthetic sample: posed open hands (+ forearms) over a procedural background.

Each sample is a pure function of ``(seed, index)`` (``numpy.random.default_rng([seed, index])``),
so any subset can be generated in any order, by any number of workers, with identical results.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np
import torch

from handzoo.datasets.base import make_sample, project
from handzoo.datasets.synth.backgrounds import random_background, random_colour
from handzoo.datasets.synth.poses import (
    HandKinematics,
    PoseSampler,
    axis_angle_of,
    random_rotation,
    rotation_of,
    sample_betas,
)
from handzoo.geometry.flip import flip_axis_angle
from handzoo.render._threads import single_thread
from handzoo.render.renderer import render_mesh
from handzoo.render.shading import Light
from handzoo.types import LEFT, RIGHT, SIDE_NAMES, Sample

__all__ = ["SynthConfig", "HandSynthesizer", "GENERATOR_VERSION", "SKIN_TONES"]

GENERATOR_VERSION = 1

# sRGB skin base colours, light to dark (jittered per hand)
SKIN_TONES = np.array(
    [
        (0.96, 0.80, 0.69),
        (0.93, 0.74, 0.62),
        (0.87, 0.67, 0.53),
        (0.80, 0.58, 0.44),
        (0.70, 0.50, 0.36),
        (0.58, 0.40, 0.28),
        (0.45, 0.30, 0.21),
        (0.34, 0.22, 0.15),
    ]
)


@dataclass(frozen=True)
class SynthConfig:
    """What the generator varies, and how much.

    Attributes:
        image_size: square image side in pixels.
        two_hand_prob: probability of an image with two hands (one left, one right).
        left_prob: probability that a single hand is a left hand.
        fill: range of the hand box's longest side, as a fraction of the image side.
        focal: range of the focal length, as a multiple of the image side.
        forearm_prob: probability of drawing a forearm at the wrist.
        sleeve_prob: probability that a forearm wears a sleeve (else bare skin).
        noise: range of the std of additive pixel noise (fraction of 255).
        supersample: anti-aliasing factor of the renderer.
        hand_model: name of the hand model (``openhand``).
    """

    image_size: int = 224
    two_hand_prob: float = 0.0
    left_prob: float = 0.5
    fill: tuple[float, float] = (0.4, 0.7)
    focal: tuple[float, float] = (1.2, 2.5)
    forearm_prob: float = 0.85
    sleeve_prob: float = 0.5
    noise: tuple[float, float] = (0.0, 0.02)
    supersample: int = 2
    hand_model: str = "openhand"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        return asdict(self)


@dataclass
class _Hand:
    side: int
    global_orient: np.ndarray
    hand_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray = field(default_factory=lambda: np.zeros(3))
    vertices: np.ndarray | None = None
    joints: np.ndarray | None = None
    render_vertices: np.ndarray | None = None
    forearm: np.ndarray | None = None
    skin: np.ndarray | None = None
    forearm_colour: np.ndarray | None = None


@functools.lru_cache(maxsize=4)
def _models(name: str):
    from handzoo.handmodels import hand_model, load_openhand

    if name != "openhand":
        raise ValueError(f"the synthetic generator supports the openhand model only, got {name!r}")
    models = {s: hand_model(name, side=SIDE_NAMES[s], closed_wrist=True, dtype=torch.float64) for s in (RIGHT, LEFT)}
    data = load_openhand("right")
    zero = torch.zeros(1, 3, dtype=torch.float64)
    _, rest_joints = models[RIGHT](zero, torch.zeros(1, 45, dtype=torch.float64))
    kin = HandKinematics.from_model(
        data.meta["flexion_axes"], rest_joints[0].numpy(), thumb_side=np.array([0.0, 0.0, 1.0])
    )
    return models, kin, data


def _tube_faces(n_around: int, n_along: int) -> np.ndarray:
    """Faces of a tube of ``n_along`` rings of ``n_around`` vertices, capped at the last ring by a
    fan to one extra centre vertex; counter-clockwise seen from outside for a tube along +x whose
    rings run counter-clockwise about +x."""
    faces = []
    for r in range(n_along - 1):
        for k in range(n_around):
            a, b = r * n_around + k, r * n_around + (k + 1) % n_around
            c, d = a + n_around, b + n_around
            faces += [[a, b, c], [b, d, c]]
    centre = n_along * n_around
    last = (n_along - 1) * n_around
    faces += [[last + k, last + (k + 1) % n_around, centre] for k in range(n_around)]
    return np.asarray(faces, dtype=np.int64)


_TUBE_AROUND, _TUBE_ALONG = 24, 8
_TUBE_FACES = _tube_faces(_TUBE_AROUND, _TUBE_ALONG)


class HandSynthesizer:
    """Generates synthetic samples of the open hand model.

    Args:
        config: generation settings.
    """

    def __init__(self, config: SynthConfig | None = None) -> None:
        self.config = config or SynthConfig()
        self.models, self.kin, self.data = _models(self.config.hand_model)
        self.sampler = PoseSampler(self.kin)
        self.num_vertices = int(self.data.v_template.shape[0])
        self.faces = {s: m.faces.numpy().astype(np.int64) for s, m in self.models.items()}

    # ------------------------------------------------------------------ hands

    def _pose_hand(self, h: _Hand) -> None:
        m = self.models[h.side]
        t = torch.float64
        with torch.no_grad():
            v, j = m(
                torch.as_tensor(h.global_orient, dtype=t)[None],
                torch.as_tensor(h.hand_pose, dtype=t)[None],
                torch.as_tensor(h.betas, dtype=t)[None],
                torch.as_tensor(h.transl, dtype=t)[None],
            )
        h.render_vertices = v[0].numpy()
        h.vertices = h.render_vertices[: self.num_vertices]
        h.joints = j[0].numpy()

    def _rest(self, side: int, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = self.models[side]
        t = torch.float64
        with torch.no_grad():
            v, j = m(torch.zeros(1, 3, dtype=t), torch.zeros(1, 45, dtype=t), torch.as_tensor(betas, dtype=t)[None])
        return v[0].numpy(), j[0].numpy()

    def _new_hand(self, rng: np.random.Generator, side: int, betas: np.ndarray) -> _Hand:
        pose = self.sampler.sample(rng)
        if side == LEFT:
            pose = flip_axis_angle(pose)
        # the forearm (+x in the right model, -x in the mirrored left one) must not point at the
        # camera: arms come from a body, not from the lens
        sgn = 1.0 if side == RIGHT else -1.0
        for _ in range(50):
            R = random_rotation(rng)
            if sgn * R[2, 0] > -0.3:
                break
        return _Hand(side=side, global_orient=axis_angle_of(R), hand_pose=pose, betas=betas.copy())

    def _person(self, rng: np.random.Generator) -> dict[str, Any]:
        """What the hands of one image share: skin tone, hand shape, clothing."""
        base = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))] * rng.uniform(0.92, 1.06) + rng.normal(0, 0.015, 3)
        sleeve = random_colour(rng, 0.1, 0.9).astype(np.float64) if rng.random() < self.config.sleeve_prob else None
        return {"skin": np.clip(base, 0.0, 1.0), "betas": sample_betas(rng), "sleeve": sleeve}

    def _skin(self, rng: np.random.Generator, h: _Hand, rest_v: np.ndarray, person: dict[str, Any]) -> None:
        base = person["skin"]
        # low-frequency mottling, lighter palms (palm faces -y in the model frame, either side)
        k = rng.normal(0, 45.0, (3, 3))
        ph = rng.uniform(0, 2 * np.pi, 3)
        mott = 1.0 + 0.035 * np.sin(rest_v @ k.T + ph).sum(1)
        palm = 1.0 / (1.0 + np.exp((rest_v[:, 1] + 0.004) / 0.004))
        lighter = base + (np.array([0.98, 0.86, 0.8]) - base) * 0.35
        col = base[None] * (1 - palm[:, None]) + lighter[None] * palm[:, None]
        h.skin = np.clip(col * mott[:, None], 0.0, 1.0)
        if rng.random() < self.config.forearm_prob:
            h.forearm_colour = person["sleeve"] if person["sleeve"] is not None else base

    def _forearm(self, rng: np.random.Generator, h: _Hand, rest_v: np.ndarray, rest_j: np.ndarray) -> None:
        """A tapered elliptic tube from the wrist along the forearm (+x in the right model frame)."""
        if h.forearm_colour is None:
            return
        loop = rest_v[self.data.closing_loop]
        sgn = 1.0 if h.side == RIGHT else -1.0  # the left model is mirrored through x = 0
        c = loop.mean(0)
        ry = (loop[:, 1].max() - loop[:, 1].min()) / 2
        rz = (loop[:, 2].max() - loop[:, 2].min()) / 2
        length = rng.uniform(0.08, 0.22)
        grow = rng.uniform(1.1, 1.35)
        ang = np.linspace(0, 2 * np.pi, _TUBE_AROUND, endpoint=False)
        rings = []
        # the first ring is narrower and sunk into the wrist so the open rim never shows
        # and the second, at the wrist cut, matches the cut so the hand's wrist cap stays hidden
        xs = np.concatenate([[-0.012], length * np.linspace(0.0, 1.0, _TUBE_ALONG - 1) ** 1.5])
        scales = np.concatenate([[0.85], 1.04 + (grow - 1.0) * np.linspace(0.0, 1.0, _TUBE_ALONG - 1)])
        for x_off, s in zip(xs, scales):
            x = c[0] + sgn * x_off
            ring = np.stack([np.full_like(ang, x), c[1] + ry * s * np.cos(ang), c[2] + rz * s * np.sin(ang)], 1)
            rings.append(ring)
        cap = np.array([[c[0] + sgn * length, c[1], c[2]]])
        tube = np.concatenate(rings + [cap])
        R = rotation_of(h.global_orient)
        j0 = rest_j[0]
        h.forearm = (tube - j0) @ R.T + j0 + h.transl

    # ------------------------------------------------------------------ camera and placement

    def _place(self, h: _Hand, K: np.ndarray, uc: float, vc: float, side_px: float) -> None:
        """Translate a hand so its projected mesh box is centred at (uc, vc) with longest side ``side_px``."""
        f = 0.5 * (K[0, 0] + K[1, 1])
        self._pose_hand(h)
        v0 = h.vertices - h.transl
        ext = max(np.ptp(v0[:, 0]), np.ptp(v0[:, 1]))
        z = f * ext / side_px + max(0.0, -v0[:, 2].min())
        cen = v0.mean(0)
        t = np.array([(uc - K[0, 2]) * z / K[0, 0], (vc - K[1, 2]) * z / K[1, 1], z]) - cen
        for _ in range(3):
            uv = project(v0 + t, K)
            lo, hi = uv.min(0), uv.max(0)
            size = float(max(hi - lo))
            zc = float((v0 + t)[:, 2].mean())
            # rescale depth to hit the target size, then recentre
            znew = zc * size / side_px
            t[2] += znew - zc
            uv = project(v0 + t, K)
            lo, hi = uv.min(0), uv.max(0)
            mid = (lo + hi) / 2
            zc = float((v0 + t)[:, 2].mean())
            t[0] += (uc - mid[0]) * zc / K[0, 0]
            t[1] += (vc - mid[1]) * zc / K[1, 1]
        h.transl = t
        self._pose_hand(h)

    # ------------------------------------------------------------------ sample

    def generate(self, seed: int, index: int) -> Sample:
        """Render sample ``index`` of the stream ``seed``.

        Runs with one torch thread (restored afterwards): the many small tensor operations of one
        render get slower, not faster, with intra-op threads; parallelise across samples instead
        (DataLoader workers, ``handzoo data synth --workers``).
        """
        with single_thread():
            return self._generate(seed, index)

    def _generate(self, seed: int, index: int) -> Sample:
        cfg = self.config
        rng = np.random.default_rng([int(seed), int(index)])
        S = int(cfg.image_size)
        f = rng.uniform(*cfg.focal) * S
        K = np.array(
            [[f, 0, (S - 1) / 2 + rng.normal(0, 0.02 * S)], [0, f, (S - 1) / 2 + rng.normal(0, 0.02 * S)], [0, 0, 1.0]]
        )
        two = rng.random() < cfg.two_hand_prob
        sides = [RIGHT, LEFT] if two else [LEFT if rng.random() < cfg.left_prob else RIGHT]
        if two and rng.random() < 0.5:
            sides = sides[::-1]
        person = self._person(rng)
        hands = [self._new_hand(rng, s, person["betas"]) for s in sides]
        fills = []
        for i, h in enumerate(hands):
            rest_v, rest_j = self._rest(h.side, h.betas)
            self._skin(rng, h, rest_v, person)
            if two:
                fill = rng.uniform(*cfg.fill) * 0.6
                half = (0.0, S / 2) if i == 0 else (S / 2, float(S))
                lo_u, hi_u = half
            else:
                fill = rng.uniform(*cfg.fill)
                lo_u, hi_u = 0.0, float(S)
            side_px = fill * S
            margin = side_px / 2 + 0.02 * S
            uc = rng.uniform(lo_u + margin, hi_u - margin) if hi_u - lo_u > 2 * margin else (lo_u + hi_u) / 2
            vc = rng.uniform(margin, S - margin) if S > 2 * margin else S / 2
            self._place(h, K, uc, vc, side_px)
            self._forearm(rng, h, rest_v, rest_j)
            fills.append(float(fill))
        bg, kind = random_background(rng, S, S)
        image, mask, depth = self._render(rng, hands, K, bg)
        joints = np.stack([h.joints for h in hands])
        visible = self._visibility(joints, K, depth, S)
        meta = {
            "dataset": "synthetic",
            "seed": int(seed),
            "index": int(index),
            "hand_model": cfg.hand_model,
            "mano_flat_hand_mean": True,
            "background": kind,
            "fill": fills,
            "visible": visible,
            "generator_version": GENERATOR_VERSION,
        }
        mano = {
            "global_orient": np.stack([h.global_orient for h in hands]),
            "hand_pose": np.stack([h.hand_pose for h in hands]),
            "betas": np.stack([h.betas for h in hands]),
            "transl": np.stack([h.transl for h in hands]),
        }
        return make_sample(
            image,
            K,
            [h.side for h in hands],
            joints3d=joints,
            vertices=np.stack([h.vertices for h in hands]),
            mano=mano,
            mask=mask,
            meta=meta,
        )

    def _render(self, rng: np.random.Generator, hands: list[_Hand], K: np.ndarray, bg: np.ndarray):
        cfg = self.config
        S = cfg.image_size
        verts, faces, cols, hand_ids = [], [], [], []
        for h in hands:
            hand_ids.append(len(verts))
            verts.append(h.render_vertices)
            faces.append(self.faces[h.side])
            cols.append(h.skin)  # per vertex of the closed-wrist mesh
            if h.forearm is not None:
                verts.append(h.forearm)
                # the left tube runs along -x: mirrored, so its winding flips
                faces.append(_TUBE_FACES if h.side == RIGHT else _TUBE_FACES[:, ::-1].copy())
                cols.append(np.repeat(h.forearm_colour[None], h.forearm.shape[0], 0))
        d = rng.normal(0, 1, 3)
        d[2] = -abs(d[2]) - 0.6
        light = Light(
            direction=tuple(d / np.linalg.norm(d)),
            ambient=float(rng.uniform(0.35, 0.55)),
            diffuse=float(rng.uniform(0.45, 0.75)),
            specular=float(rng.uniform(0.0, 0.12)),
            shininess=12.0,
            color=tuple(np.clip(1.0 + rng.normal(0, 0.04, 3), 0.85, 1.1)),
        )
        out = render_mesh(
            [torch.as_tensor(v, dtype=torch.float32) for v in verts],
            [torch.as_tensor(f) for f in faces],
            torch.as_tensor(K, dtype=torch.float32),
            (S, S),
            colors=[torch.as_tensor(c, dtype=torch.float32) for c in cols],
            background=torch.as_tensor(bg),
            light=light,
            supersample=cfg.supersample,
            backend="torch",
            cull_backfaces=True,
        )
        img = out.image.numpy()
        if rng.random() < 0.3:
            img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 0.8))
        sigma = rng.uniform(*cfg.noise)
        if sigma > 0:
            img = img + rng.normal(0, sigma, img.shape).astype(np.float32)
        image = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
        hand_cov = out.mesh_coverage[hand_ids].sum(0).numpy()
        mask = np.where(hand_cov >= 0.5, 255, 0).astype(np.uint8)
        return image, mask, out.depth.numpy()

    @staticmethod
    def _visibility(joints: np.ndarray, K: np.ndarray, depth: np.ndarray, S: int, tol: float = 0.012) -> np.ndarray:
        """Approximate per-joint visibility: inside the image and not behind the rendered surface."""
        uv = project(joints, K)
        px = np.rint(uv).astype(np.int64)
        inside = (px[..., 0] >= 0) & (px[..., 0] < S) & (px[..., 1] >= 0) & (px[..., 1] < S)
        d = np.full(joints.shape[:2], np.inf)
        d[inside] = depth[px[..., 1][inside], px[..., 0][inside]]
        return inside & (joints[..., 2] <= d + tol)
