"""EgoDexter (Mueller et al., "Real-time Hand Tracking under Occlusion from an Egocentric RGB-D
Sensor", ICCV 2017): a body-mounted Intel RealSense SR300, cluttered desks and kitchens, four
sequences, fingertips annotated in 3D on part of the frames. Evaluated by the 3D-hand paper's
fingertip 3D PCK (protocol ``egodexter-3dhand``, :mod:`handzoo.protocols.pck3d`).

Official layout (from the MPI GVV page, as read by the public evaluation code of later RGB papers)::

    <root>/data/<sequence>/color/image_00000_color.png ...     640 x 480 colour frames
    <root>/data/<sequence>/depth/image_00000_depth.png ...     depth frames (not read)
    <root>/data/<sequence>/color_on_depth/...                  colour registered to depth (not read)
    <root>/data/<sequence>/annotation.txt                      2D fingertips, depth-image pixels
    <root>/data/<sequence>/annotation.txt_3D.txt               3D fingertips, depth camera, mm

Sequences ``Desk``, ``Fruits``, ``Kitchen``, ``Rotunda``. Line ``i`` of an annotation file belongs
to the ``i``-th colour frame in file-name order; it holds five fingertips (thumb, index, middle,
ring, little) as ``x, y, z;`` or ``u, v;``. Frames without annotation and occluded fingertips are
written as ``0, 0, 0`` (sometimes ``-0``) in 3D and ``-1, -1`` in 2D, or left empty; all of these
are read as missing. Some redistributions add a corrected copy ``my_annotation.txt_3D.txt``; the
official file is read when present.

Dataset facts used here: colour intrinsics ``fx = fy = 617.173, cx = 315.453, cy = 242.259``;
depth-to-colour ``[R | t]`` (mm) in :mod:`handzoo.protocols.pck3d` (the same numbers score the
protocol). The 3D annotations already use
OpenCV axes (x right, y down): they are moved into the colour camera and converted to metres. The
hand is a left hand (the reading of the public evaluation code; the paper's tracker is
hand-agnostic).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handzoo.catalogue.datasets import DatasetSpec, register_dataset
from handzoo.datasets._fingertips import FingertipDataset
from handzoo.protocols._tips import read_tip_lines
from handzoo.protocols.pck3d import (
    EGODEXTER_SEQUENCES,
    egodexter_annotation_file,
    egodexter_tips_mm,
    egodexter_to_color,
)

__all__ = ["EgoDexter", "EGODEXTER_SEQUENCES", "EGODEXTER_COLOR_K", "SPEC"]

URL = "https://handtracker.mpi-inf.mpg.de/projects/OccludedHands/EgoDexter.htm"
EGODEXTER_COLOR_K = ((617.173, 0.0, 315.453), (0.0, 617.173, 242.259), (0.0, 0.0, 1.0))

SPEC = register_dataset(
    DatasetSpec(
        "egodexter",
        protocols=("egodexter-3dhand",),
        source=URL + " (EgoDexter: data/<sequence>/{color,depth,annotation.txt,annotation.txt_3D.txt})",
        folders=("EgoDexter", "egodexter", "ego_dexter"),
        splits=("test",),
        split_aliases={"evaluation": "test", "eval": "test"},
        title="EgoDexter",
    )
)


class EgoDexter(FingertipDataset):
    """EgoDexter loader (colour camera, fingertips only).

    Args:
        root: dataset folder (holding ``data/``; default ``$HANDZOO_DATA/EgoDexter``).
        split: ``test`` (the four sequences).
        sequences: a subset of :data:`EGODEXTER_SEQUENCES`.
        annotated_only: drop frames with no annotated fingertip (about half of the frames carry
            annotations; default: keep every frame).
    """

    name = "egodexter"
    protocol = "egodexter-3dhand"
    url = URL
    spec = SPEC
    sequences = EGODEXTER_SEQUENCES
    color_K = EGODEXTER_COLOR_K

    annotation_file = staticmethod(egodexter_annotation_file)
    read_tips_mm = staticmethod(egodexter_tips_mm)
    to_color = staticmethod(egodexter_to_color)

    def _read_2d(self, folder: Path, seq: str) -> np.ndarray:
        path = folder / "annotation.txt"
        uv = read_tip_lines(path, 2, "EgoDexter", URL) if path.is_file() else np.full((0, 5, 2), np.nan)
        uv[np.any(uv < 0, axis=-1)] = np.nan  # -1, -1 marks a fingertip not visible in the depth image
        return uv
