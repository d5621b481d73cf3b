"""The conformance suite imports the in-memory fake (fake_shop.py) and the action test
helpers (tests/actions/action_helpers.py) as plain modules."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "actions")]
