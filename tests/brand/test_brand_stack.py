"""The running assistant in the 专业 tone: Rasa's own responses (via endpoints.yml `nlg:`)
and the action server's texts both come out formal."""

from __future__ import annotations

import json
import sys
import urllib.request
from typing import Any, Dict, Iterator, List

import pytest
from brand_texts import EMOJI_CHAR, ROOT

sys.path.insert(0, str(ROOT / "scripts"))

from stack import Stack  # noqa: E402

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def formal_stack(tmp_path_factory) -> Iterator[Stack]:
    if not (ROOT / "models" / "shop.tar.gz").exists():
        pytest.fail("no trained model: `make test` trains it; run `make train` first")
    running = Stack.isolated(tmp_path_factory.mktemp("brand-stack"))
    running.env["BRAND_TONE"] = "专业"
    running.start(services=("shop", "actions", "rasa"))
    yield running
    running.stop()


def say(stack: Stack, sender: str, message: str) -> List[Dict[str, Any]]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/rest/webhook", body,
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_domain_and_action_texts_come_in_the_formal_tone(formal_stack: Stack) -> None:
    faq = say(formal_stack, "brand-formal", "包邮吗")  # utter_faq/shipping_fee, rendered by Rasa
    tracking = say(formal_stack, "brand-formal", "快递到哪了")  # asked by an action
    faq_text = " ".join(reply.get("text", "") for reply in faq)
    assert faq_text.startswith("本店单笔订单实付满49元包邮"), faq
    assert "订单号(18位数字" in " ".join(reply.get("text", "") for reply in tracking), tracking
    for reply in faq + tracking:
        text = reply.get("text", "")
        assert "亲" not in text and "哦" not in text and "~" not in text, reply
        assert not EMOJI_CHAR.search(text), reply
