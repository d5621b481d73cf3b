"""Entities in real customer messages, through the running stack's NLU (`/model/parse`).

The real held-out messages (tests/nlu/real_heldout.yml) are annotated for intents only; a
silver standard stands in for entity annotations: a catalogue product or courier the message
names (the lookup tables of data/nlu/entities.yml) should come out as that entity, over the
name's characters, and a message that names none should (almost) never get one. Measured
with scripts/real_eval.py: products 25 of 25, couriers 12 of 17, none in the others (before
the CRF left the unannotated real texts out: 2 of 25 and 5 of 17)."""

from __future__ import annotations

import json
import urllib.request

from real_eval import REAL_NLU, nlu_examples, silver_entities


def parse(stack, text: str) -> dict:
    request = urllib.request.Request(
        f"{stack.rasa_url}/model/parse?token={stack.env['RASA_API_TOKEN']}",
        data=json.dumps({"text": text}).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def test_catalogue_names_in_real_messages_come_out_as_entities(stack) -> None:
    texts = [text for text, _ in nlu_examples(REAL_NLU)]
    counts = silver_entities(texts, [parse(stack, text) for text in texts])
    product, courier = counts["product"], counts["courier"]
    assert product["mentioned"] >= 20 and courier["mentioned"] >= 10, counts
    assert product["mentioned_found"] >= 0.9 * product["mentioned"], counts
    assert courier["mentioned_found"] >= 0.6 * courier["mentioned"], counts
    for entity in (product, courier):  # no entity out of nowhere
        assert entity["unmentioned_found"] <= 0.01 * entity["unmentioned"], counts
