"""Terminal chat with the running assistant over the REST webhook."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
import uuid

sys.path.insert(0, __import__("os").path.dirname(__file__))
from stack import load_defaults  # noqa: E402


def send(url: str, sender: str, text: str) -> list:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sender", default=f"guest-{uuid.uuid4().hex[:8]}",
                        help="chat user id; demo-wang / demo-li are linked demo customers")
    args = parser.parse_args()
    url = f"http://127.0.0.1:{load_defaults()['RASA_PORT']}/webhooks/rest/webhook"
    print(f"Chatting as {args.sender}. Empty line or Ctrl-D quits.")
    while True:
        try:
            text = input("您: ").strip()
        except EOFError:
            break
        if not text:
            break
        for reply in send(url, args.sender, text):
            print("小蜜:", reply.get("text", ""))
            for button in reply.get("buttons", []):
                print(f"    [{button['title']}]  -> {button['payload']}")


if __name__ == "__main__":
    main()
