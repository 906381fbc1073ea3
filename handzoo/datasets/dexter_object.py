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
from handzoo.datasets._fingertips import FingertipDataset
from handzoo.protocols._tips import read_tip_lines
from handzoo.protocols.pck3d import (
    DEXTER_OBJECT_SEQUENCES,
    dexter_object_annotation_file,
    dexter_object_tips_mm,
    dexter_object_to_color,
)

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

    annotation_file = staticmethod(dexter_object_annotation_file)
    read_tips_mm = staticmethod(dexter_object_tips_mm)
    to_color = staticmethod(dexter_object_to_color)

    def _read_2d(self, folder: Path, seq: str) -> np.ndarray:
        path = folder / "annotations" / f"{seq}2D.txt"
        return read_tip_lines(path, 2, "Dexter+Object", URL) if path.is_file() else np.full((0, 5, 2), np.nan)
