"""Keeps the web chat test stack running while developing its tests (a full start takes
minutes on a busy machine): writes its addresses to a JSON file; then run
``WEBCHAT_TEST_STACK=<file> .venv/bin/python -m pytest tests/channels``.
Ctrl-C (or SIGTERM) stops it."""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "channels"))

from conftest import webchat_stack_in  # noqa: E402
from stack import free_port  # noqa: E402


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "var/webchat-test-stack.json")
    port = free_port()
    with webchat_stack_in(Path(tempfile.mkdtemp(prefix="webchat-dev-")), port) as info:
        info = {k: v for k, v in info.items() if k != "recorder"} | {"recorder_port": port}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"web chat test stack up; WEBCHAT_TEST_STACK={out}", flush=True)
        while True:
            time.sleep(1)


if __name__ == "__main__":
    main()
