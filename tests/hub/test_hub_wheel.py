"""The wheel ships the model cards, the card schema and the built-in plugins (built and installed in tmp)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["handzoo", "plugins", "model_cards", "pyproject.toml", "setup.py", "README.md", "LICENSE"]
PLUGINS = ["smhr", "h2onet", "hand4whole", "digit", "3dhand"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        p = REPO / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
        elif p.exists():
            shutil.copy2(p, src / name)
    dist = tmp_path_factory.mktemp("dist")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-q",
        "-w",
        str(dist),
        str(src),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    (whl,) = dist.glob("handzoo-*.whl")
    return whl


def test_wheel_contains_cards_schema_and_plugins(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for card in (REPO / "model_cards").glob("*.md"):
        assert f"handzoo_model_cards/{card.name}" in names
    assert "handzoo_model_cards/__init__.py" in names
    assert {"handzoo/hub/card_schema.json", "handzoo/hub/__init__.py", "handzoo/hub/cards.py"} <= names
    for plugin in PLUGINS:
        assert f"handzoo_{plugin}/__init__.py" in names
    # the open hand asset travels with its licence texts and derivation notice (Apache-2.0 §4)
    asset = "handzoo/assets/openhand/"
    for f in ("openhand_right.npz", "LICENSE", "NOTICE", "LICENSE-CC0-MakeHuman.md", "README.md"):
        assert asset + f in names, f
    (ep,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(ep).decode()
    assert all(f"{p} = handzoo_{p}" in text for p in PLUGINS), text


def test_installed_wheel_lists_valid_cards(wheel, tmp_path):
    target = tmp_path / "site"
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    code = """
import json, handzoo
from handzoo.variants import model_cards
from handzoo.hub.validate import card_problems
cards = model_cards()
print(json.dumps({"handzoo": handzoo.__file__,
                  "cards": {n: [c.path, c.plugin, card_problems(c, strict=True)] for n, c in cards.items()}}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDZOO_")}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout)
    assert res["handzoo"].startswith(str(target))
    shipped = {p.stem for p in (REPO / "model_cards").glob("*.md")}
    assert shipped <= set(res["cards"])
    for name in shipped:
        path, plugin, problems = res["cards"][name]
        assert path.startswith(str(target)), (name, path)
        assert plugin == name.split("-")[0] and problems == []
