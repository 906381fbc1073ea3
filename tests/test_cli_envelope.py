"""The error envelope of every handzoo CLI: one line, an exit code, a traceback only on request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import types

import pytest

import handzoo
from handzoo import cli
from handzoo.commands import _envelope
from handzoo.errors import ConfigError, HandzooError, WeightsError


@pytest.fixture
def fake_command(monkeypatch):
    """Register a ``handzoo boom`` command whose run() raises what the test sets."""
    mod = types.ModuleType("handzoo_test_boom_cmd")
    mod.HELP = "raise something"
    mod.add_arguments = lambda parser: None
    box: dict = {}

    def run(args):
        raise box["exc"]

    mod.run = run
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setitem(cli.COMMANDS, "boom", mod.__name__)
    monkeypatch.delenv("HANDZOO_DEBUG", raising=False)
    return box


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_handzoo_error_is_one_message_exit_2(fake_command, capsys):
    fake_command["exc"] = WeightsError("weights file x.safetensors is bad")
    assert cli.main(["boom"]) == 2
    err = capsys.readouterr().err
    assert _one_line(err) == "error: weights file x.safetensors is bad" and "Traceback" not in err
    fake_command["exc"] = ConfigError("model card c.md is invalid:\n  - results: 5", hint="fix\nthe card")
    assert cli.main(["boom"]) == 2
    assert _one_line(capsys.readouterr().err) == "error: model card c.md is invalid: - results: 5 (hint: fix the card)"


@pytest.mark.parametrize(
    "exc",
    [TypeError("'int' object is not iterable"), IndexError("index out of range"), KeyError("sha256"), ValueError("x")],
)
def test_unexpected_exception_is_one_line_exit_1(fake_command, capsys, exc):
    fake_command["exc"] = exc
    assert cli.main(["boom"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"error: unexpected {type(exc).__name__}") and "--debug" in line


def test_os_error_names_the_path(fake_command, capsys):
    fake_command["exc"] = PermissionError(13, "Permission denied", "/root/x.pth")
    assert cli.main(["boom"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "Permission denied: /root/x.pth" in line


def test_debug_flag_and_env_show_the_traceback(fake_command, capsys, monkeypatch):
    fake_command["exc"] = TypeError("boom")
    assert cli.main(["boom", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("HANDZOO_DEBUG", "1")
    assert cli.main(["boom"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_keyboard_interrupt_exit_130(fake_command, capsys):
    fake_command["exc"] = KeyboardInterrupt()
    assert cli.main(["boom"]) == 130
    assert _one_line(capsys.readouterr().err) == "interrupted"


def test_broken_pipe_is_quiet(fake_command, capsys):
    fake_command["exc"] = BrokenPipeError(32, "Broken pipe")
    assert cli.main(["boom"]) == 141
    assert capsys.readouterr().err == ""


def test_bench_and_train_clis_share_the_envelope(monkeypatch, capsys):
    from handzoo.bench import cli as bench_cli
    from handzoo.train import cli as train_cli

    monkeypatch.delenv("HANDZOO_DEBUG", raising=False)

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench_cli, "_bench", interrupted)
    assert bench_cli.main(["--all"]) == 130
    assert "resume" in _one_line(capsys.readouterr().err)

    def broken(args):
        raise RuntimeError("mmengine said no")

    monkeypatch.setattr(train_cli, "run", broken)
    assert train_cli.main(["some-variant"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "RuntimeError: mmengine said no" in line


def test_describe_is_one_paragraph():
    msg = _envelope.describe(ValueError("a\nb\n" + "x" * 2000))
    assert "\n" not in msg and len(msg) < 600


# ------------------------------------------------------------------ API entry points


@pytest.mark.parametrize("bad", [123, None, 4.5, ["h2onet-dexycb"]])
def test_load_with_a_non_string_name(bad):
    with pytest.raises(ConfigError, match="must be a string"):
        handzoo.load(bad)


def test_load_with_a_non_path_weights():
    with pytest.raises(ConfigError, match="weights="):
        handzoo.load("h2onet-dexycb", weights=123)


def test_load_dataset_with_a_non_path_root():
    with pytest.raises(ConfigError, match="root="):
        handzoo.load_dataset("freihand", root=123)
    with pytest.raises(HandzooError):
        handzoo.load_dataset(123)


# ------------------------------------------------------------------ real processes


def _env() -> dict:
    env = dict(os.environ)
    env.pop("HANDZOO_DEBUG", None)
    return env


def test_output_piped_into_a_closed_reader_exits_quietly():
    """`handzoo list --json | head -c 1`: the reader is gone before handzoo writes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys, handzoo.cli as c; sys.exit(c.main(['list', '--json']))"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    proc.stdout.close()  # like `head` exiting after its first lines
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141, err
    assert b"Traceback" not in err and b"BrokenPipe" not in err and err.strip() == b""


def test_sigint_during_a_command_exits_130_with_one_line(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(
        "import sys, time, types\n"
        "import handzoo.cli as c\n"
        "m = types.ModuleType('slowcmd'); m.HELP = 'slow'; m.add_arguments = lambda p: None\n"
        "def run(args):\n"
        "    print('READY', flush=True); time.sleep(60)\n"
        "m.run = run; sys.modules['slowcmd'] = m; c.COMMANDS['slow'] = 'slowcmd'\n"
        "sys.exit(c.main(['slow']))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        # a shell's background job starts with SIGINT ignored, and Python keeps it ignored: the
        # child must see Ctrl-C as a user at a terminal does, however the suite was started
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout.readline().strip() == b"READY"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.decode().strip() == "interrupted"


def test_data_synth_into_an_unwritable_place_fails_at_once(capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out in ("/proc/handzoo-x", str(afile / "sub")):
        assert cli.main(["data", "synth", "--out", out, "--n", "1"]) == 2
        line = _one_line(capsys.readouterr().err)
        assert line.startswith("error: --out") and "cannot be written" in line
