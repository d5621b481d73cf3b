"""Terminal chat with the running assistant over the REST webhook.

`--sender demo-wang` chats as the demo customer 王伟: like the shop's site does for its
logged-in customer, this script signs an identity for the customer the shop links to that
name (channels.identity, with this installation's CHANNEL_IDENTITY_SECRET). Any other
sender is an anonymous visitor.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Optional
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import load_defaults  # noqa: E402

from channels.identity import sign_identity  # noqa: E402


def send(url: str, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None) -> list:
    body = json.dumps({"sender": sender, "message": text, "metadata": metadata or {}}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def signed_in_as(env: Dict[str, str], sender: str) -> Optional[Dict[str, Any]]:
    """The shop customer linked to `sender` (the demo shop plays the shop's site), or None."""
    request = urllib.request.Request(
        f"{env['SHOP_API_URL']}/api/customers/by-channel/{quote(sender, safe='')}",
        headers={"X-Api-Key": env.get("SHOP_API_KEY", "")})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sender", default=f"guest-{uuid.uuid4().hex[:8]}",
                        help="chat user id; demo-wang / demo-li sign in as the demo customers")
    args = parser.parse_args()
    env = load_defaults()
    url = f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook"
    try:
        customer = signed_in_as(env, args.sender)
    except OSError as error:
        sys.exit(f"The shop at {env['SHOP_API_URL']} is not reachable ({error}); is `make run` up?")
    metadata: Dict[str, Any] = {}
    if customer:
        if not env.get("CHANNEL_IDENTITY_SECRET"):
            sys.exit("CHANNEL_IDENTITY_SECRET is not set (run `make venv`, or see var/secrets.env)")
        print(f"Signed in as {customer.get('surname', '')}{customer.get('title', '')} "
              f"({customer['id']}).")
    print(f"Chatting as {args.sender}. Empty line or Ctrl-D quits.")
    while True:
        try:
            text = input("您: ").strip()
        except EOFError:
            break
        if not text:
            break
        if customer:  # a fresh token per message, like a page that stays open
            metadata = {"identity_token": sign_identity({"customer_id": customer["id"]},
                                                        env["CHANNEL_IDENTITY_SECRET"])}
        for reply in send(url, args.sender, text, metadata):
            print("小蜜:", reply.get("text", ""))
            for button in reply.get("buttons", []):
                print(f"    [{button['title']}]  -> {button['payload']}")


if __name__ == "__main__":
    main()
