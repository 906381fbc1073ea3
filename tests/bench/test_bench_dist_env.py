"""A broken torchrun environment fails at once or in bounded time, naming what to fix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from handzoo.bench.distributed import dist_timeout, init_from_env, world_size_from_env
from handzoo.errors import ConfigError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("name", "value"), [("WORLD_SIZE", "abc"), ("WORLD_SIZE", "0"), ("WORLD_SIZE", "-2")])
def test_bad_world_size_is_a_config_error(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="WORLD_SIZE"):
        init_from_env()
    with pytest.raises(ConfigError, match="WORLD_SIZE"):
        world_size_from_env()


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"WORLD_SIZE": "2"}, "RANK"),
        ({"WORLD_SIZE": "2", "RANK": "x"}, "RANK"),
        ({"WORLD_SIZE": "2", "RANK": "5"}, "RANK=5"),
        ({"WORLD_SIZE": "2", "RANK": "0"}, "MASTER_ADDR"),
        ({"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "http"}, "MASTER_PORT"),
        ({"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "70000"}, "MASTER_PORT"),
    ],
)
def test_incomplete_torchrun_environment(monkeypatch, env, needle):
    for k in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError, match=needle):
        init_from_env()


def test_trainer_launcher_checks_world_size(monkeypatch):
    from handzoo.train import runner

    monkeypatch.setenv("WORLD_SIZE", "abc")
    with pytest.raises(ConfigError, match="WORLD_SIZE"):
        runner._init_cpu_distributed()


def test_dist_timeout_values(monkeypatch):
    for raw, want in (("abc", 120.0), ("inf", 120.0), ("nan", 120.0), ("0", 1.0), ("3", 3.0)):
        monkeypatch.setenv("HANDZOO_DIST_TIMEOUT", raw)
        assert dist_timeout() == want


def test_missing_peer_fails_in_bounded_time():
    """WORLD_SIZE=2 with no second process: was an endless wait; now an error after the timeout."""
    env = {
        **os.environ,
        "WORLD_SIZE": "2",
        "RANK": "0",
        "LOCAL_RANK": "0",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "HANDZOO_DIST_TIMEOUT": "2",
    }
    code = (
        "import sys\n"
        "from handzoo.errors import ConfigError\n"
        "from handzoo.bench.distributed import init_from_env\n"
        "try:\n"
        "    init_from_env()\n"
        "except ConfigError as exc:\n"
        "    print(exc.message); sys.exit(3)\n"
    )
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "MASTER_ADDR=127.0.0.1" in proc.stdout and "WORLD_SIZE=2" in proc.stdout
    assert time.monotonic() - t0 < 60
