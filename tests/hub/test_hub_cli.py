"""CLI: ``handzoo convert``, ``handzoo push``, weights status in ``handzoo list --json``."""

from __future__ import annotations

import json

from hub_tiny import TINY_VARIANT

from handzoo.cli import main


def test_convert_command(install_tiny, original_checkpoint, tmp_path, capsys):
    install_tiny()
    assert main(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["weights"] == "convert-needed"
    assert main(["convert", TINY_VARIANT, str(original_checkpoint), "-o", str(tmp_path / "x.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "dropped 2 embedded MANO arrays" in out and "now uses these weights" in out
    assert (tmp_path / "x.safetensors").is_file()
    assert main(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["weights"] == "cached"
    assert main(["convert", TINY_VARIANT, str(original_checkpoint), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["variant"] == TINY_VARIANT and res["key_map_version"] == "tiny-1" and len(res["sha256"]) == 64


def test_convert_errors_are_short(install_tiny, tmp_path, capsys):
    install_tiny()
    bad = tmp_path / "junk.pth"
    bad.write_bytes(b"not a checkpoint at all")
    assert main(["convert", TINY_VARIANT, str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read junk.pth") and "Traceback" not in err


def test_push_command(install_tiny, standin_hub, original_checkpoint, tmp_path, capsys):
    install_tiny()
    assert main(["convert", TINY_VARIANT, str(original_checkpoint)]) == 0
    capsys.readouterr()
    card_path = tmp_path / "card.md"
    args = ["push", TINY_VARIANT, "org/tiny", "--token", "hf_test", "--write-card", str(card_path), "--json"]
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["repo_id"] == "org/tiny" and len(res["revision"]) == 40
    assert f"revision: {res['revision']}" in card_path.read_text()
    assert standin_hub.files("org/tiny")["README.md"].decode() == card_path.read_text()
