"""``python -m handzoo.bench`` (and ``torchrun -m handzoo.bench``) = ``handzoo-bench``."""

import sys

from handzoo.bench.cli import main

sys.exit(main())
