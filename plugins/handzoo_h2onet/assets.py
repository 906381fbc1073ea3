"""H2ONet's mesh-topology assets: where they come from and how they are read.

The network's shape depends on a mesh hierarchy (four up-sampling matrices, spiral indices per
level) and it maps vertices to joints with a 21 x V regressor. For the authors' weights these are
the authors' (derived from MANO's template, so handzoo never ships them):

* ``transform.pkl`` from the H2ONet repository's ``model/modules/template/`` folder (read with a
  restricted unpickler, never executed), located by ``template_dir=`` or
  ``$HANDZOO_H2ONET_TEMPLATE_DIR`` (the template folder itself or the repository root);
* the per-finger vertex sets the multi-frame model's offset branch weights by: either
  ``finger_vertex_ids.json`` in the template folder, or the lists in the repository's
  ``occ_label_preparation/seg.py`` (parsed as literals, never executed);
* the joint regressor: MANO's ``J_regressor`` from the user's ``MANO_RIGHT.pkl``
  (``$HANDZOO_MANO_DIR``) plus the fingertip vertices the authors add, in ``handzoo21`` order.
"""

from __future__ import annotations

import ast
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handzoo.errors import AssetError
from handzoo.handmodels.mano_reader import find_mano_file, read_mano_pickle
from handzoo.io.safe_pickle import safe_load, sparse_entries, to_array

from .spiral import extract_spirals

__all__ = [
    "TEMPLATE_ENV",
    "FINGERS",
    "MANO_TIP_VERTEX_IDS",
    "MeshHierarchy",
    "find_template_dir",
    "load_mesh_hierarchy",
    "load_finger_vertex_ids",
    "mano_joint_regressor",
    "joint_regressor_from_j16",
]

TEMPLATE_ENV = "HANDZOO_H2ONET_TEMPLATE_DIR"
FINGERS = ("thumb", "index", "middle", "ring", "little")
# Fingertip vertices the authors append to MANO's 16 regressed joints (thumb, index, middle, ring,
# pinky). Note 445 for the middle tip, not the commonly used 444.
MANO_TIP_VERTEX_IDS = (745, 317, 445, 556, 673)
# Rows of [MANO 16 joints, 5 tips] that give handzoo21 (wrist, thumb 1-4, index 1-4, ...).
_MANO21_TO_HANDZOO21 = (0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20)
_TEMPLATE_SUBDIR = Path("model") / "modules" / "template"
_SEG_FILE = Path("occ_label_preparation") / "seg.py"
_REPO = "https://github.com/hxwork/H2ONet_Pytorch"


@dataclass(frozen=True)
class MeshHierarchy:
    """A mesh hierarchy for the spiral decoder, finest level first.

    Attributes:
        vertices: per level (V_l, 3) positions.
        faces: per level (F_l, 3) triangles.
        up: per up-sampling step ``l`` (fine level ``l`` from coarse level ``l + 1``): ``(index,
            weight)`` of shape (V_l, K) each, K coarse vertices per fine vertex.
        spirals: per level except the coarsest, (V_l, seq_length) spiral indices.
        source: where it was read from.
    """

    vertices: tuple[np.ndarray, ...]
    faces: tuple[np.ndarray, ...]
    up: tuple[tuple[np.ndarray, np.ndarray], ...]
    spirals: tuple[np.ndarray, ...]
    source: str = ""

    @property
    def num_vertices(self) -> tuple[int, ...]:
        """Vertex count per level."""
        return tuple(len(v) for v in self.vertices)


def _template_hint() -> str:
    return (
        f"clone {_REPO} and set {TEMPLATE_ENV}=<clone>/model/modules/template (or pass "
        "template_dir=...); the folder must hold transform.pkl"
    )


def find_template_dir(template_dir: str | os.PathLike | None = None) -> Path:
    """Resolve the folder holding the authors' ``transform.pkl``.

    Args:
        template_dir: the template folder or the H2ONet repository root; defaults to
            ``$HANDZOO_H2ONET_TEMPLATE_DIR``.

    Raises:
        AssetError: naming the expected file and the environment variable.
    """
    root = template_dir if template_dir is not None else os.environ.get(TEMPLATE_ENV)
    if not root:
        raise AssetError(f"H2ONet mesh template is not configured ({TEMPLATE_ENV} is not set)", hint=_template_hint())
    root = Path(root).expanduser()
    for cand in (root, root / _TEMPLATE_SUBDIR):
        if (cand / "transform.pkl").is_file():
            return cand
    raise AssetError(f"transform.pkl not found in {root}", hint=_template_hint())


def _up_gather(obj: object, what: str, fine: int, coarse: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols, vals, shape = sparse_entries(obj, what)
    if tuple(shape) != (fine, coarse):
        raise AssetError(f"{what} has shape {tuple(shape)}, expected {(fine, coarse)}")
    counts = np.bincount(rows, minlength=fine)
    k = max(int(counts.max()), 1)
    idx = np.zeros((fine, k), dtype=np.int64)
    w = np.zeros((fine, k), dtype=np.float32)
    slot = np.zeros(fine, dtype=np.int64)
    for r, c, v in zip(rows, cols, vals):  # keep the stored order (it fixes the summation order)
        idx[r, slot[r]] = c
        w[r, slot[r]] = v
        slot[r] += 1
    return idx, w


def hierarchy_from_arrays(
    vertices: list[np.ndarray], faces: list[np.ndarray], up: list[object], seq_length: int = 9, source: str = ""
) -> MeshHierarchy:
    """Build a :class:`MeshHierarchy` from per-level arrays and up-sampling matrices.

    Raises:
        AssetError: on inconsistent levels.
    """
    if not (len(vertices) == len(faces) == len(up) + 1) or len(up) < 1:
        raise AssetError(f"{source}: need L vertex/face levels and L-1 up-sampling matrices")
    verts = tuple(np.array(v, dtype=np.float64) for v in vertices)
    fcs = tuple(np.array(f, dtype=np.int64) for f in faces)
    for lvl, (v, f) in enumerate(zip(verts, fcs)):
        if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3 or f.size == 0:
            raise AssetError(f"{source}: level {lvl} vertices/faces are not (N, 3)")
        if f.min() < 0 or f.max() >= len(v):
            raise AssetError(f"{source}: level {lvl} faces index outside the vertices")
    ups = tuple(
        _up_gather(u, f"{source} up_transform[{i}]", len(verts[i]), len(verts[i + 1])) for i, u in enumerate(up)
    )
    spirals = tuple(extract_spirals(verts[i], fcs[i], seq_length) for i in range(len(verts) - 1))
    for arr in (*verts, *fcs, *spirals, *(a for pair in ups for a in pair)):
        arr.setflags(write=False)  # hierarchies are cached and shared between models
    return MeshHierarchy(verts, fcs, ups, spirals, source)


def load_mesh_hierarchy(template_dir: str | os.PathLike | None = None, seq_length: int = 9) -> MeshHierarchy:
    """Read the authors' ``transform.pkl`` and compute the spiral indices (OpenMesh order).

    Raises:
        AssetError: when the folder or file is missing or malformed.
    """
    path = find_template_dir(template_dir) / "transform.pkl"
    try:
        st = path.stat()
    except OSError as exc:
        raise AssetError(f"cannot read {path}: {exc}", hint=_template_hint()) from None
    return _read_hierarchy(str(path.resolve()), st.st_mtime_ns, st.st_size, seq_length)


@functools.lru_cache(maxsize=8)
def _read_hierarchy(path_str: str, mtime_ns: int, size: int, seq_length: int) -> MeshHierarchy:
    # keyed on the file's identity and stamp: building a second model (convert, then load)
    # reuses the spirals, and an edited file is read again.
    path = Path(path_str)
    data = safe_load(path, "H2ONet mesh template")
    if not isinstance(data, dict) or not {"vertices", "face", "up_transform"} <= set(data):
        raise AssetError(f"{path} lacks the keys vertices/face/up_transform", hint=_template_hint())
    try:
        vertices = [to_array(v, f"{path} vertices") for v in data["vertices"]]
        faces = [to_array(f, f"{path} face") for f in data["face"]]
        up = list(data["up_transform"])
    except TypeError:
        raise AssetError(f"{path}: vertices/face/up_transform must be lists", hint=_template_hint()) from None
    return hierarchy_from_arrays(vertices, faces, up, seq_length, str(path))


def _seg_lists(path: Path) -> dict[str, list[int]]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise AssetError(f"cannot read {path}: {exc}") from None
    found: dict[str, list[int]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.endswith("_verts_idx") and name[: -len("_verts_idx")] in FINGERS:
                try:
                    found[name[: -len("_verts_idx")]] = [int(i) for i in ast.literal_eval(node.value)]
                except (ValueError, TypeError):
                    raise AssetError(f"{path}: {name} is not a list of integers") from None
    return found


def load_finger_vertex_ids(template_dir: str | os.PathLike | None = None, num_vertices: int = 778) -> list[np.ndarray]:
    """Per-finger vertex indices (thumb, index, middle, ring, little) for the MF offset branch.

    Raises:
        AssetError: when neither ``finger_vertex_ids.json`` nor the repository's ``seg.py`` is found.
    """
    folder = find_template_dir(template_dir)
    json_path = folder / "finger_vertex_ids.json"
    candidates = [folder / _SEG_FILE, *(p / _SEG_FILE for p in folder.parents[:3])]
    if json_path.is_file():
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AssetError(f"cannot read {json_path}: {exc}") from None
        src = str(json_path)
    else:
        seg = next((p for p in candidates if p.is_file()), None)
        if seg is None:
            raise AssetError(
                f"per-finger vertex sets for the multi-frame H2ONet not found near {folder}",
                hint=f"point {TEMPLATE_ENV} at the template folder of a full clone of {_REPO} (its "
                f"{_SEG_FILE.as_posix()} holds them) or put finger_vertex_ids.json in the template folder",
            )
        data, src = _seg_lists(seg), str(seg)
    if not isinstance(data, dict):
        raise AssetError(f"{src}: expected a mapping finger -> vertex ids")
    out = []
    for name in FINGERS:
        ids = np.asarray(data.get(name, []), dtype=np.int64).reshape(-1)
        if ids.size == 0 or ids.min() < 0 or ids.max() >= num_vertices:
            raise AssetError(f"{src}: vertex ids of the {name} finger are missing or out of range")
        out.append(ids)
    return out


def joint_regressor_from_j16(j16: np.ndarray, tips: tuple[int, ...] = MANO_TIP_VERTEX_IDS) -> np.ndarray:
    """The authors' 21 x V joint regressor: 16 regressed joints + one-hot tips, ``handzoo21`` order."""
    j16 = np.asarray(j16, dtype=np.float32)
    if j16.ndim != 2 or j16.shape[0] != 16:
        raise AssetError(f"a MANO joint regressor must be (16, V), got {j16.shape}")
    onehot = np.zeros((5, j16.shape[1]), dtype=np.float32)
    onehot[np.arange(5), list(tips)] = 1.0
    return np.concatenate([j16, onehot])[list(_MANO21_TO_HANDZOO21)]


def mano_joint_regressor(mano_dir: str | os.PathLike | None = None) -> np.ndarray:
    """Build the authors' joint regressor from the user's ``MANO_RIGHT.pkl``.

    Raises:
        AssetError: when MANO is not configured or the file is malformed.
    """
    path = find_mano_file("right", mano_dir)
    data = read_mano_pickle(path)
    if "J_regressor" not in data:
        raise AssetError(f"{path} has no J_regressor", hint="use the official MANO_RIGHT.pkl")
    return joint_regressor_from_j16(np.asarray(data["J_regressor"]))
