"""Scoring DexYCB results files (toolkit and HandOccNet protocols) never imports torch."""

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
