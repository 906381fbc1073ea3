"""Random plausible hand poses and shapes in MANO's parameter layout, for the open hand model.

Poses are built per joint from the model's own flexion axes (``meta['flexion_axes']``: a positive
rotation curls a finger toward the palm) and abduction axes (perpendicular to the bone and the
flexion axis), within joint limits: mostly flexion, a little abduction (finger spread). A sampled
"curl" per finger couples MCP, PIP and DIP like real hands (DIP about 0.7 x PIP). Poses are
sampled for a right hand; a left hand uses the mirrored pose (:func:`flip_axis_angle`), which is
exact for the mirrored open hand model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handzoo.geometry.joint_orders import convert_joints

__all__ = ["HandKinematics", "PoseSampler", "random_rotation", "axis_angle_of", "rotation_of", "sample_betas"]

# MANO joints of each finger (index, middle, pinky, ring, thumb) and the mano21 row of its tip
_CHAINS = {"index": (1, 2, 3), "middle": (4, 5, 6), "pinky": (7, 8, 9), "ring": (10, 11, 12), "thumb": (13, 14, 15)}
_TIPS = {"thumb": 16, "index": 17, "middle": 18, "ring": 19, "pinky": 20}
# spread direction per finger (+ towards the thumb side), scaled by the sampled spread level
_SPREAD = {"index": 1.0, "middle": 0.15, "ring": -0.7, "pinky": -1.4}


def rotation_of(axis_angle: np.ndarray) -> np.ndarray:
    """Rotation matrix of an axis-angle vector (Rodrigues)."""
    r = np.asarray(axis_angle, dtype=np.float64)
    t = float(np.linalg.norm(r))
    if t < 1e-12:
        return np.eye(3)
    k = r / t
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(t) * kx + (1 - np.cos(t)) * kx @ kx


def axis_angle_of(R: np.ndarray) -> np.ndarray:
    """Axis-angle vector of a rotation matrix (robust near 0 and 180 degrees)."""
    R = np.asarray(R, dtype=np.float64)
    # via the quaternion, which is stable everywhere
    tr = np.trace(R)
    if tr > 0:
        s = np.sqrt(tr + 1.0) * 2
        q = np.array([0.25 * s, (R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s])
    else:
        i = int(np.argmax(np.diag(R)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = np.sqrt(max(1.0 + R[i, i] - R[j, j] - R[k, k], 1e-12)) * 2
        q = np.zeros(4)
        q[0] = (R[k, j] - R[j, k]) / s
        q[1 + i] = 0.25 * s
        q[1 + j] = (R[j, i] + R[i, j]) / s
        q[1 + k] = (R[k, i] + R[i, k]) / s
    if q[0] < 0:
        q = -q
    q /= np.linalg.norm(q)
    v = q[1:]
    n = float(np.linalg.norm(v))
    if n < 1e-12:
        return np.zeros(3)
    return v / n * 2.0 * np.arctan2(n, q[0])


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly distributed random rotation matrix."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


@dataclass
class HandKinematics:
    """Per-joint flexion and abduction axes of a right hand model (rest frame, MANO joint order).

    Attributes:
        flexion: (16, 3) unit axes (row 0, the wrist, unused).
        abduction: (16, 3) unit axes; positive rotation moves the finger towards the thumb side.
    """

    flexion: np.ndarray
    abduction: np.ndarray

    @classmethod
    def from_model(cls, flexion_axes: np.ndarray, rest_joints21: np.ndarray, thumb_side: np.ndarray) -> HandKinematics:
        """Derive the axes from a model's flexion axes and rest joints (handzoo21 order).

        Args:
            flexion_axes: (16, 3) per MANO joint.
            rest_joints21: (21, 3) joints of the rest pose.
            thumb_side: (3,) direction of the thumb side of the hand in the model frame.
        """
        j = convert_joints(np.asarray(rest_joints21, dtype=np.float64), "handzoo21", "mano21")
        flex = np.asarray(flexion_axes, dtype=np.float64).copy()
        abd = np.zeros_like(flex)
        for name, chain in _CHAINS.items():
            for pos, k in enumerate(chain):
                child = chain[pos + 1] if pos + 1 < len(chain) else _TIPS[name]
                d = j[child] - j[k]
                d /= max(np.linalg.norm(d), 1e-12)
                a = np.cross(d, flex[k])
                a /= max(np.linalg.norm(a), 1e-12)
                # orient so a positive rotation moves the bone towards the thumb side
                if np.dot(np.cross(a, d), thumb_side) < 0:
                    a = -a
                abd[k] = a
        return cls(flexion=flex, abduction=abd)


@dataclass
class PoseSampler:
    """Sample hand poses (45 axis-angle values, MANO order) within joint limits.

    Attributes:
        kin: the model's axes.
        open_prob, fist_prob: probability of a nearly open hand / a nearly closed fist (the rest
            are per-finger random curls).
    """

    kin: HandKinematics
    open_prob: float = 0.25
    fist_prob: float = 0.2

    def curls(self, rng: np.random.Generator) -> dict[str, float]:
        """Per-finger curl in [0, 1] (0 open, 1 fully flexed)."""
        names = ("thumb", "index", "middle", "ring", "pinky")
        u = rng.random()
        if u < self.open_prob:
            c = rng.uniform(0.0, 0.25, 5)
        elif u < self.open_prob + self.fist_prob:
            c = rng.uniform(0.6, 1.0, 5)
        else:
            base = rng.beta(0.9, 0.9)
            c = np.clip(0.45 * base + 0.55 * rng.beta(0.7, 0.7, 5), 0.0, 1.0)
        return dict(zip(names, c.tolist()))

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Return a (45,) hand pose for a right hand."""
        c = self.curls(rng)
        spread = rng.uniform(-0.3, 1.0)
        pose = np.zeros((16, 3))
        deg = np.pi / 180.0
        for name in ("index", "middle", "ring", "pinky"):
            k1, k2, k3 = _CHAINS[name]
            cf = c[name]
            mcp = np.clip(-8 + 95 * cf + rng.normal(0, 7), -15, 90)
            pip = np.clip(105 * cf + rng.normal(0, 8), 0, 105)
            dip = np.clip(0.7 * pip + rng.normal(0, 7), 0, 80)
            abd = np.clip(_SPREAD[name] * 14 * spread * (1 - 0.7 * cf) + rng.normal(0, 2.5), -25, 25)
            pose[k1] = self._compose(k1, mcp * deg, abd * deg)
            pose[k2] = self.kin.flexion[k2] * pip * deg
            pose[k3] = self.kin.flexion[k3] * dip * deg
        ct = c["thumb"]
        k1, k2, k3 = _CHAINS["thumb"]
        cmc = np.clip(-10 + 45 * ct + rng.normal(0, 6), -20, 45)
        cmc_abd = np.clip(rng.normal(5, 10), -20, 30)
        mcp = np.clip(50 * ct + rng.normal(0, 6), -5, 60)
        ip = np.clip(-5 + 70 * ct + rng.normal(0, 8), -15, 80)
        pose[k1] = self._compose(k1, cmc * deg, cmc_abd * deg)
        pose[k2] = self.kin.flexion[k2] * mcp * deg
        pose[k3] = self.kin.flexion[k3] * ip * deg
        return pose[1:].reshape(45)

    def _compose(self, k: int, flex: float, abd: float) -> np.ndarray:
        R = rotation_of(self.kin.flexion[k] * flex) @ rotation_of(self.kin.abduction[k] * abd)
        return axis_angle_of(R)


def sample_betas(rng: np.random.Generator, num_betas: int = 10) -> np.ndarray:
    """Shape coefficients: size (beta 0) ~ N(0, 0.8), the rest ~ N(0, 1), clipped to +-2."""
    b = rng.normal(0.0, 1.0, num_betas)
    b[0] *= 0.8
    return np.clip(b, -2.0, 2.0)
