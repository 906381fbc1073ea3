"""Ctrl-C (SIGINT) in a real process: exit 130, one line, nothing half-written in the cache."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent

_CONVERT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {here!r})
    import torch
    from hub_tiny import TINY, TinyMethod, TinyPlugin, tiny_card, tiny_convert, to_original
    from handzoo.plugins import PluginManager, reset_plugin_manager
    import handzoo.hub.convert as conv
    from handzoo.cli import main

    pm = PluginManager(autoload=False, extra=[], entry_points=[])
    pm.register(TinyPlugin([tiny_card()], tiny_convert), name=TINY)
    reset_plugin_manager(pm)
    ckpt = sys.argv[1]
    torch.save(to_original(TinyMethod().state_dict()), ckpt)

    real = conv.place_entry
    def slow_place(*args, **kwargs):  # the weights are staged in the cache's work dir: interrupt here
        print("READY", flush=True)
        time.sleep(60)
        return real(*args, **kwargs)
    conv.place_entry = slow_place
    sys.exit(main(["convert", "tiny-demo", ckpt, "-o", sys.argv[2]]))
    """
)

_BENCH = textwrap.dedent(
    """
    import sys, time
    import handzoo.bench.cli as bench
    def slow(args):
        print("READY", flush=True)
        time.sleep(60)
    bench._bench = slow
    sys.exit(bench.main(["--all"]))
    """
)


def _sigint_as_at_a_terminal() -> None:
    # a shell's background job starts with SIGINT ignored, and Python keeps an ignored SIGINT
    # ignored: the child must see Ctrl-C as a user at a terminal does, however the suite was started
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(code: str, args: list[str], env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_sigint_as_at_a_terminal,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == "READY", proc.stderr.read()[-2000:]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    e = dict(os.environ)
    e.pop("HANDZOO_DEBUG", None)
    e["HANDZOO_CACHE"] = str(tmp_path / "cache")
    return e


def test_sigint_during_convert(tmp_path, env):
    out = tmp_path / "out" / "w.safetensors"
    code, err = _interrupt(_CONVERT.format(here=str(_HERE)), [str(tmp_path / "ckpt.pth"), str(out)], env)
    assert code == 130
    assert err.strip() == "interrupted" and "Traceback" not in err
    cache = Path(env["HANDZOO_CACHE"])
    leftovers = [str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file()]
    assert leftovers == []  # no entry, no staged file
    assert not (cache / "weights" / "tiny-demo").exists()
    # the -o copy was complete (written before the interrupt) and no partial file remains
    assert sorted(p.name for p in out.parent.iterdir()) == ["w.json", "w.safetensors"]


def test_sigint_during_bench(env):
    code, err = _interrupt(_BENCH, [], env)
    assert code == 130
    line = err.strip()
    assert "\n" not in line and line.startswith("interrupted") and "resume" in line
