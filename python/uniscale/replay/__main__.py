"""``python -m uniscale.replay``: the same as ``uniscale replay``."""

from __future__ import annotations

import sys

from uniscale.replay.cli import replay_main

if __name__ == "__main__":
    sys.exit(replay_main())
