"""Size advice over REST: the bot's size is the size chart's size for the customer's build."""

from __future__ import annotations

import json
import urllib.request

from scenarios import post_message, reply_text


def test_height_and_weight_in_customer_words_get_the_charts_size(stack) -> None:
    sender = "e2e-size"
    first = reply_text(post_message(stack.rasa_url, sender, "纯棉圆领T恤 我一米六 九十斤穿什么码"))
    query = "height_cm=160&weight_kg=45"
    with urllib.request.urlopen(
            f"{stack.shop_url}/api/products/P1003/size-advice?{query}") as reply:
        chart = json.loads(reply.read())
    assert f"建议选{chart['size']}码" in first, first


def test_the_product_page_in_metadata_answers_which_product(stack) -> None:
    body = json.dumps({"sender": "e2e-size-page", "message": "175 70公斤穿多大",
                       "metadata": {"product_id": "P1003"}}).encode()
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/rest/webhook", body,
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        said = reply_text(json.loads(reply.read()))
    assert "建议选L码" in said, said
