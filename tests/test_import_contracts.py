"""Import contracts (pyproject.toml [tool.importlinter]) hold, name every module, and fail when broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# may be imported by anything, the bottom layers included
_LEAVES = {"handzoo._lazy", "handzoo._version", "handzoo.errors", "handzoo.types"}


def _contracts() -> dict[str, dict]:
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {c["id"]: c for c in cfg["contracts"]}


def _top_level_modules() -> set[str]:
    pkg = REPO / "handzoo"
    names = {p.stem for p in pkg.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in pkg.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    return {f"handzoo.{n}" for n in names}


def _lint(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_contracts_hold():
    res = _lint(REPO)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "BROKEN" not in res.stdout


@pytest.mark.parametrize("contract", ["geometry-bottom", "contracts-bottom"])
def test_bottom_contracts_name_every_module(contract):
    c = _contracts()[contract]
    named = set(c["source_modules"]) | set(c["forbidden_modules"]) | _LEAVES
    if contract == "geometry-bottom":  # geometry may use the leaves only; the rest must be forbidden
        named |= set(_contracts()["contracts-bottom"]["source_modules"]) - set(c["forbidden_modules"])
    missing = sorted(_top_level_modules() - named)
    assert not missing, f"add {missing} to the {contract} contract in pyproject.toml (forbidden or allowed)"


def test_a_planted_forbidden_import_breaks_the_contracts(tmp_path):
    # a copy of the package with one forbidden import per contract; the plugins stay the installed ones
    def only_sources(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n == "__pycache__" or (not n.endswith(".py") and not Path(folder, n).is_dir())]

    shutil.copytree(REPO / "handzoo", tmp_path / "handzoo", ignore=only_sources)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    plants = {
        "metrics/pck.py": "import handzoo.datasets.freihand",
        "geometry/flip.py": "import handzoo.hub.cache",
        "errors.py": "import handzoo.geometry.joint_orders",
        "render/raster.py": "import handzoo_h2onet",
        "types.py": "import handzoo",
    }
    for rel, line in plants.items():
        p = tmp_path / "handzoo" / rel
        p.write_text(p.read_text(encoding="utf-8") + f"\n{line}  # planted\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    res = _lint(tmp_path, env)
    out = res.stdout
    assert res.returncode != 0, out
    for needle in (
        "handzoo.metrics.pck -> handzoo.datasets.freihand",
        "handzoo.geometry.flip -> handzoo.hub.cache",
        "handzoo.errors -> handzoo.geometry.joint_orders",
        "handzoo.render.raster -> handzoo_h2onet",
        "handzoo.types -> handzoo ",
    ):
        assert needle in out.replace("\n", " "), f"{needle!r} not reported:\n{out[-4000:]}"
