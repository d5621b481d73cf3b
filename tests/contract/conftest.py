"""The conformance suite imports the in-memory fake (fake_shop.py) as a plain module."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
