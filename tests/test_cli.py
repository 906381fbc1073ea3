"""The `handzoo` CLI: list/info/plugins, JSON output, third-party and broken plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from handzoo.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["name"] for r in rows}
    assert {"h2onet-dexycb", "hand4whole-hand"} <= names
    assert all(r["weights"] in ("published", "cached", "convert-needed", "bundled") for r in rows)
    bundled = {r["name"] for r in rows if r["weights"] == "bundled"}
    assert "compact-openhand" in bundled  # the shipped open model's weights come with the package


def test_list_pattern_and_table(capsys):
    assert main(["list", "smhr-*"]) == 0
    out = capsys.readouterr().out
    assert "smhr-freihand" in out and "h2onet" not in out


def test_info_json_and_text(capsys):
    assert main(["info", "h2onet-dexycb", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["name"] == "h2onet-dexycb" and card["method"] == "h2onet" and card["license"]
    assert main(["info", "h2onet-dexycb"]) == 0
    assert "H2ONet" in capsys.readouterr().out


def test_info_unknown_is_a_clear_error(capsys):
    assert main(["info", "no-such-model"]) == 2
    assert "unknown model variant" in capsys.readouterr().err


def test_plugins_json(capsys):
    assert main(["plugins", "--json"]) == 0
    infos = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    for name in ("smhr", "h2onet", "hand4whole", "digit", "3dhand"):
        assert infos[name]["ok"] and infos[name]["builtin"], infos[name]


def _run(args, extra_path: Path | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDZOO_PLUGIN")}
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "handzoo.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def template_target(tmp_path_factory):
    target = tmp_path_factory.mktemp("template_site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--target",
            str(target),
            str(REPO / "examples" / "plugin_template"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def test_third_party_template_round_trip(template_target):
    res = _run(["list", "--json"], template_target)
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert rows["template-demo"]["plugin"] == "template"
    res = _run(["plugins", "--json", "--modules"], template_target)
    infos = {p["name"]: p for p in json.loads(res.stdout)}
    assert infos["template"]["ok"] and not infos["template"]["builtin"]
    assert infos["template"]["registered"] == {"METHODS": ["TemplateDemo"]}


def test_template_model_builds_and_runs(template_target, monkeypatch, fresh_plugins):
    import numpy as np

    from handzoo import registry, variants
    from handzoo.plugins import PluginManager

    monkeypatch.syspath_prepend(str(template_target))
    fresh_plugins(PluginManager(autoload=True, extra=["handzoo_template"]))
    card = variants.model_info("template-demo")
    model = registry.build("methods", card.architecture).eval()
    out = model(np.zeros((2, 80, 90, 3), np.uint8))
    assert out.joints3d.shape == (2, 1, 21, 3) and out.root_relative
    assert float(out.joints3d[:, :, 0].abs().max()) == 0.0


def test_broken_plugin_on_path_does_not_break_listing(tmp_path):
    (tmp_path / "handzoo_broken.py").write_text("raise ImportError('this plugin needs libmissing')\n")
    dist = tmp_path / "handzoo_broken-0.0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: handzoo-broken\nVersion: 0.0.1\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("[handzoo]\nbroken = handzoo_broken\n"))
    res = _run(["list", "--json"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "h2onet-dexycb" in {r["name"] for r in json.loads(res.stdout)}
    res = _run(["plugins", "--json"], tmp_path)
    infos = {p["name"]: p for p in json.loads(res.stdout)}
    assert not infos["broken"]["ok"] and "libmissing" in infos["broken"]["errors"][0]
    assert infos["broken"]["version"] == "0.0.1"
    res = _run(["plugins"], tmp_path)
    assert res.returncode == 0 and "libmissing" in res.stdout


def test_list_does_not_import_torch():
    code = "import sys; from handzoo.cli import main; main(['list', '--json']); print('torch' in sys.modules, file=sys.stderr)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr.strip().endswith("False"), res.stderr


def test_hand_png_rest_and_left_fist(tmp_path, capsys):
    for args in (
        ["--out", str(tmp_path / "rest.png")],
        ["--side", "left", "--flex", "60", "--out", str(tmp_path / "fist.png")],
    ):
        assert main(["hand", *args]) == 0
        path = Path(args[-1])
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_hand_errors_are_clear(tmp_path, capsys, monkeypatch):
    assert main(["hand", "--out", str(tmp_path / "x.jpg")]) == 2
    assert ".png" in capsys.readouterr().err
    monkeypatch.delenv("HANDZOO_MANO_DIR", raising=False)
    assert main(["hand", "--model", "mano", "--mano-dir", str(tmp_path), "--out", str(tmp_path / "m.png")]) == 2
    err = capsys.readouterr().err
    assert "MANO_RIGHT.pkl" in err and "mano.is.tue.mpg.de" in err
