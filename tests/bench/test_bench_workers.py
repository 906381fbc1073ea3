"""DataLoader workers die with the process that started them (no orphans after a SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from handzoo.bench.inference import iterate_batches

    out = Path(sys.argv[1])

    class Slow:
        # a sample that takes long to read (rendering, decoding): the worker is busy, not polling
        def __len__(self):
            return 8

        def __getitem__(self, i):
            (out / f"worker-{os.getpid()}").write_text("")
            time.sleep(120)
            return i

    for _ in iterate_batches(Slow(), list(range(8)), batch_size=1, workers=2):
        pass
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) is not alive
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_sigkilled_bench_leaves_no_workers(tmp_path):
    script = tmp_path / "bench_like.py"
    script.write_text(_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)], start_new_session=True)
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(pids) < 2:
            pids = [int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")]
            time.sleep(0.1)
        assert len(pids) == 2, "the workers did not start"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
        assert not any(_alive(p) for p in pids), "DataLoader workers outlived the killed parent"
    finally:
        for p in pids:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()


class _Draws:
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> float:
        import numpy as np

        return float(np.random.rand())


def test_trainer_workers_keep_mmengine_seeds(monkeypatch):
    from functools import partial

    from mmengine.dataset import worker_init_fn
    from torch.utils.data import DataLoader

    from handzoo.bench.workers import seeded_worker_init
    from handzoo.train.runner import _worker_init

    monkeypatch.delenv("RANK", raising=False)
    cfg = _worker_init(1, 3)["worker_init_fn"]
    assert cfg["type"] is seeded_worker_init and _worker_init(0, 3) == {}

    def draws(init) -> list[float]:
        return [float(x) for b in DataLoader(_Draws(), batch_size=1, num_workers=1, worker_init_fn=init) for x in b]

    ours = draws(partial(seeded_worker_init, num_workers=1, seed=3))
    assert ours == draws(partial(worker_init_fn, num_workers=1, rank=0, seed=3))
