"""``python -m connector.mock_sl --port 50000`` (the demo company; ``--data FOLDER`` for another)."""

from __future__ import annotations

import sys

from connector.mock_sl.cli import main

if __name__ == "__main__":
    sys.exit(main())
