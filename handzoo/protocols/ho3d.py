"""HO-3D v2 and v3 (shreyashampali/ho3d ``eval.py``): FreiHAND's evaluation plus ``align_sc_tr``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handzoo.protocols.freihand import _FH_QUIRKS, FHStyleProtocol

if TYPE_CHECKING:
    import torch

__all__ = ["HO3Dv2Protocol", "HO3Dv3Protocol"]


class _HO3DProtocol(FHStyleProtocol):
    dataset = "HO-3D"
    reference = "github.com/shreyashampali/ho3d@2fd6ee1 eval.py + utils/eval_util.py"
    joint_order = "ho3d"
    frame = "opengl"
    root_joint = 0
    alignments = ("none", "procrustes", "scale_translation")
    scale_translation = True
    submission = (
        "pred.json = [xyz_list (N x 21 x 3), verts_list (N x V x 3)], metres, OpenGL camera frame "
        "(hand along -z), HO-3D joint order (MANO 16 + tips)"
    )
    ground_truth = "evaluation_xyz.json and evaluation_verts.json in --gt-dir (OpenGL frame, HO-3D order)"
    quirks = _FH_QUIRKS + (
        "scale-translation alignment (align_sc_tr): prediction scaled by |G4-G0|/|P4-P0| (bone wrist -> "
        "middle MCP in HO-3D order; skipped when |P4-P0| = 0), then its wrist moved onto the GT wrist",
        "joints are compared index-wise in the HO-3D order; handzoo rows are reordered and converted "
        "OpenCV -> OpenGL (diag(1,-1,-1)) before scoring (distances are unchanged by the frame change)",
        "the official script asserts the number of samples equals the set size (11524 for v2, 20137 for v3)",
    )

    def to_native(self, points: torch.Tensor, joints: bool) -> torch.Tensor:
        """handzoo (OpenCV, handzoo21) -> HO-3D files (OpenGL, HO-3D order)."""
        from handzoo.geometry.frames import opencv_to_opengl

        return opencv_to_opengl(super().to_native(points, joints))

    def _keys(self) -> dict[str, str]:
        return {"xyz": "xyz", "xyz_al": "xyz_procrustes_al"}


class HO3Dv2Protocol(_HO3DProtocol):
    """HO-3D v2 evaluation set (CodaLab competition 4318)."""

    name = "ho3d-v2"
    title = "HO-3D v2"
    official_size = 11524


class HO3Dv3Protocol(_HO3DProtocol):
    """HO-3D v3 evaluation set (CodaLab competition 4393)."""

    name = "ho3d-v3"
    title = "HO-3D v3"
    official_size = 20137
