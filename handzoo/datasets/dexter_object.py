"""Dexter+Object (Sridhar et al., "Real-time Joint Tracking of a Hand Manipulating an Object from
RGB-D Input", ECCV 2016): a Creative Senz3D RGB-D camera, one left hand grasping a cuboid, six
sequences, fingertips annotated in 3D. Evaluated by the 3D-hand paper's fingertip 3D PCK
(protocol ``dexter-object-3dhand``, :mod:`handzoo.protocols.pck3d`).

Official layout (from the MPI GVV page, as read by the public evaluation code of later RGB papers)::

    <root>/data/<sequence>/color/Color_0001.bmp ...   640 x 480 colour frames (file-name order = frame order)
    <root>/data/<sequence>/depth/...                  320 x 240 depth frames (not read)
    <root>/data/<sequence>/annotations/<sequence>3D.txt
    <root>/data/<sequence>/annotations/<sequence>2D.txt
    <root>/calibration/                               the camera calibration (its numbers are below)

Sequences ``Grasp1``, ``Grasp2``, ``Occlusion``, ``Rigid``, ``Pinch``, ``Rotate``. Line ``i`` of an
annotation file belongs to the ``i``-th colour frame; it holds the five fingertips (thumb, index,
middle, ring, little) as ``x, y, z;`` (3D: millimetres in the depth camera, x pointing left and
y up) or ``u, v;`` (2D: depth-image pixels). A missing fingertip has ``z = 32001``. Some
redistributions carry a corrected copy ``my_<sequence>3D.txt`` next to the official file; the
official file is read when present (the same rule as the protocol's reader).

Dataset facts used here: colour intrinsics ``fx = 587.45209, fy = 600.67456, cx = 325,
cy = 249``; depth-to-colour ``[R | t]`` (mm) in :data:`handzoo.protocols.pck3d` (the same numbers
score the protocol). Points are turned to the depth camera's OpenCV axes (x right, y down: ``x, y``
negated), moved into the colour camera and converted to metres. The hand is a left hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handzoo.catalogue.datasets import DatasetSpec, register_dataset
from handzoo.datasets._fingertips import FingertipDataset, read_tip_lines
from handzoo.protocols.pck3d import _DO_DEPTH_TO_COLOR, _DO_MISSING_Z, DEXTER_OBJECT_SEQUENCES

__all__ = ["DexterObject", "DEXTER_OBJECT_COLOR_K", "SPEC"]

URL = "https://handtracker.mpi-inf.mpg.de/projects/RealtimeHO/dexter+object.htm"
DEXTER_OBJECT_COLOR_K = ((587.45209, 0.0, 325.0), (0.0, 600.67456, 249.0), (0.0, 0.0, 1.0))

SPEC = register_dataset(
    DatasetSpec(
        "dexter-object",
        protocols=("dexter-object-3dhand",),
        source=URL + " (Dexter+Object: data/<sequence>/{color,depth,annotations})",
        folders=("dexter+object", "DexterObject", "Dexter+Object", "dexter_object"),
        splits=("test",),
        split_aliases={"evaluation": "test", "eval": "test"},
        title="Dexter+Object",
    )
)


class DexterObject(FingertipDataset):
    """Dexter+Object loader (colour camera, fingertips only).

    Args:
        root: dataset folder (holding ``data/``; default ``$HANDZOO_DATA/dexter+object``).
        split: ``test`` (the six sequences).
        sequences: a subset of :data:`~handzoo.protocols.pck3d.DEXTER_OBJECT_SEQUENCES`.
        annotated_only: drop frames with no annotated fingertip (default: keep every frame).
    """

    name = "dexter-object"
    protocol = "dexter-object-3dhand"
    url = URL
    spec = SPEC
    sequences = DEXTER_OBJECT_SEQUENCES
    color_K = DEXTER_OBJECT_COLOR_K
    depth_to_color = _DO_DEPTH_TO_COLOR

    def _annotation_path(self, folder: Path, seq: str) -> Path:
        ann = folder / "annotations"
        return next((ann / n for n in (f"{seq}3D.txt", f"my_{seq}3D.txt") if (ann / n).is_file()), ann / f"{seq}3D.txt")

    def _read_sequence(self, folder: Path, seq: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
        mm = read_tip_lines(path, 3, "Dexter+Object", URL)
        mm[mm[..., 2] == _DO_MISSING_Z] = np.nan
        path2d = folder / "annotations" / f"{seq}2D.txt"
        uv = read_tip_lines(path2d, 2, "Dexter+Object", URL) if path2d.is_file() else np.full((0, 5, 2), np.nan)
        return mm, uv

    def _depth_to_opencv(self, mm: np.ndarray) -> np.ndarray:
        return mm * np.array([-1.0, -1.0, 1.0])
