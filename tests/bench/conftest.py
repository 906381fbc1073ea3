"""Make the stand-ins in ``bench_fakes`` importable (also by the processes the distributed test spawns)."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
