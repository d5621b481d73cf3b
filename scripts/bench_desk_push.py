"""Agent send -> customer screen latency: 100 messages from the desk to the web chat page.

    .venv/bin/python scripts/bench_desk_push.py [--messages 100]

Starts an isolated stack (shop, action server, Rasa with the web chat channel on Redis,
desk), opens the customer's chat page in headless Chromium, escalates, lets an agent claim
the conversation through the desk API (session cookie + CSRF, as the web app does), then
sends the messages one by one and measures, per message, the time from the agent's POST to
the moment the text appears on the customer's page (a MutationObserver records it; both
clocks are this machine's). Prints p50 / p95 / max.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from stack import Stack  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
OBSERVER = """
window.__seen = {};
new MutationObserver(() => {
  for (const node of document.querySelectorAll('.bubble.agent')) {
    const text = node.textContent.trim();
    if (!(text in window.__seen)) window.__seen[text] = Date.now();
  }
}).observe(document.documentElement, {childList: true, subtree: true, characterData: true});
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100)
    args = parser.parse_args()
    if not (ROOT / "channels" / "webchat.py").is_file():
        print("the web chat channel (channels/webchat.py) is not in this tree", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from channels.identity import sign_identity

    folder = Path(tempfile.mkdtemp(prefix="bench-desk-push-"))
    stack = Stack.isolated(folder)
    stack.env.update({
        "CHANNEL_IDENTITY_SECRET": secrets.token_hex(16),
        "CHANNEL_PUSH_TOKEN": secrets.token_hex(16),
        "CHANNEL_REDIS_URL": "redis://127.0.0.1:6379/6",
        "CHANNEL_REDIS_CHANNEL": f"bench-desk-{secrets.token_hex(4)}", "DEMO_MODE": "0",
    })
    print("starting the stack (Rasa takes minutes to load) ...", flush=True)
    stack.start(timeout=900)
    try:
        password = secrets.token_urlsafe(12)
        subprocess.run([sys.executable, "-m", "desk", "add-agent", "--db-url",
                        stack.env["DESK_DB_URL"], "--name", "小王", "--max-chats", "50"],
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT),
                                      "DESK_AGENT_PASSWORD": password},
                       check=True, capture_output=True)
        desk = stack.env["DESK_URL"]
        identity = sign_identity({"customer_id": "C0001"}, stack.env["CHANNEL_IDENTITY_SECRET"])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page()
            page.add_init_script(OBSERVER)
            page.goto(f"{stack.rasa_url}/webhooks/webchat/#identity={identity}")
            page.wait_for_selector("#status:has-text('在线')", timeout=60_000)
            page.fill("#input", "转人工")
            page.click("#send")
            conversation = page.evaluate("window.shopWebchat.conversationId")
            agent = requests.Session()
            login = agent.post(f"{desk}/api/auth/login", json={"name": "小王",
                                                               "password": password})
            csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
            handoff = None
            deadline = time.monotonic() + 120
            while handoff is None and time.monotonic() < deadline:
                rows = agent.get(f"{desk}/api/handoffs?view=waiting").json()["handoffs"]
                handoff = next((h for h in rows if h["conversation_id"] == conversation), None)
                time.sleep(0.5)
            assert handoff, "the handoff did not arrive"
            agent.post(f"{desk}/api/handoffs/{handoff['id']}/claim", json={},
                       headers=csrf).raise_for_status()
            screen, http = [], []
            for index in range(args.messages):
                text = f"测试消息 {index:03d}"
                started = time.time() * 1000
                response = agent.post(f"{desk}/api/handoffs/{handoff['id']}/messages",
                                      json={"text": text}, headers=csrf)
                http.append(time.time() * 1000 - started)
                response.raise_for_status()
                seen = None
                bubble = page.locator(".bubble.agent", has_text=text)
                deadline = time.monotonic() + 15
                while seen is None and time.monotonic() < deadline:
                    # The observer's timestamp when it has one, else the poll's own time.
                    if bubble.count():
                        seen = page.evaluate(
                            "t => { for (const k in (window.__seen || {})) if (k.includes(t))"
                            " return window.__seen[k]; return null; }", text) \
                            or time.time() * 1000
                    else:
                        time.sleep(0.005)
                if seen is None:
                    shown = page.locator(".bubble").all_inner_texts()[-3:]
                    raise SystemExit(f"{text} never reached the page; last bubbles: {shown}")
                screen.append(seen - started)
            browser.close()
    finally:
        stack.stop()
    print(f"{args.messages} messages, agent send -> customer screen: "
          f"p50 {statistics.median(screen):.0f} ms, p95 {percentile(screen, 0.95):.0f} ms, "
          f"max {max(screen):.0f} ms; the agent's POST itself: p50 "
          f"{statistics.median(http):.0f} ms, p95 {percentile(http, 0.95):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
