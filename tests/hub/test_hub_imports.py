"""Listing stays light: the weights status and ``handzoo list`` import neither torch nor huggingface_hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_list_with_weights_status_is_light(tmp_path):
    code = """
import contextlib, io, json, sys
from handzoo.cli import main
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    main(["list", "--json"])
rows = json.loads(buf.getvalue())
print(json.dumps({"rows": rows, "heavy": sorted(m for m in ("torch", "huggingface_hub", "mmengine") if m in sys.modules)}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDZOO_PLUGIN")}
    env["HANDZOO_CACHE"] = str(tmp_path / "cache")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout)
    assert res["heavy"] == []
    status = {r["name"]: r["weights"] for r in res["rows"]}
    assert status["h2onet-dexycb"] == "convert-needed" and status["digit-interhand"] == "convert-needed"
