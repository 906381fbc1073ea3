"""Scoring submission files (every protocol with a file scorer that needs no model) never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from protocol_golden import write_joint_txt

_SCRIPT = """
import json, sys
from handzoo.protocols.score_cli import main
rc = main(sys.argv[1:] + ["--json", "--no-plot", "--no-progress"])
print(json.dumps({"rc": rc, "torch": "torch" in sys.modules}))
"""


def test_dexycb_files_are_scored_without_torch(dexycb_inputs, tmp_path: Path) -> None:
    d = dexycb_inputs
    write_joint_txt(tmp_path / "joint_3d.txt", d["ids"], d["gt"], extra=False)
    res = write_joint_txt(tmp_path / "results.txt", d["ids"], d["pred_noise"])
    for proto in ("dexycb", "dexycb-handoccnet"):
        argv = ["--protocol", proto, "--gt-dir", str(tmp_path), "--pred", str(res), "--out", str(tmp_path / proto)]
        out = (
            subprocess.run(
                [sys.executable, "-c", _SCRIPT, *argv], capture_output=True, text=True, check=True, cwd=tmp_path
            )
            .stdout.strip()
            .splitlines()
        )
        status = json.loads(out[-1])
        assert status == {"rc": 0, "torch": False}, proto


def _status(argv: list[str], cwd: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _SCRIPT, *argv], capture_output=True, text=True, check=True, cwd=cwd)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_mesh_and_interhand_files_are_scored_without_torch(fh_inputs, interhand_inputs, tmp_path: Path) -> None:
    import numpy as np
    from protocol_golden import write_fh_files

    d = fh_inputs
    pred = write_fh_files(tmp_path / "fh", d["gt_xyz"], d["gt_verts"], d["pred_xyz_noise"], d["pred_verts_noise"])
    for proto in ("freihand", "ho3d-v2", "dexycb-h2onet"):
        argv = ["--protocol", proto, "--gt-dir", str(pred.parent), "--pred", str(pred), "--out", str(tmp_path / proto)]
        assert _status(argv, tmp_path) == {"rc": 0, "torch": False}, proto
    ih = interhand_inputs
    keys = ("joint_cam", "joint_valid", "hand_type", "hand_type_valid", "focal", "princpt", "abs_depth")
    np.savez(tmp_path / "interhand_gt.npz", **{k: ih[k] for k in keys})
    np.savez(
        tmp_path / "pred.npz",
        joint_coord=ih["joint_coord"],
        rel_root_depth=ih["rel_root_depth"],
        inv_trans=ih["inv_trans"],
        hand_type=ih["hand_prob"],
    )
    argv = ["--protocol", "interhand", "--gt-dir", str(tmp_path), "--pred", str(tmp_path / "pred.npz")]
    assert _status(argv + ["--out", str(tmp_path / "ih")], tmp_path) == {"rc": 0, "torch": False}
