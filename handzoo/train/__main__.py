"""``python -m handzoo.train`` (what ``torchrun`` launches) = ``handzoo-train``."""

import sys

from handzoo.train.cli import main

sys.exit(main())
