"""Grouping real-style messages: jieba with the project dictionary, TF-IDF, cosine."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from trainer.grouping import group
from trainer.source import Candidate

ROOT = Path(__file__).resolve().parents[2]
# Written like customers write (typos, particles, several sentences), by topic.
TOPICS = {
    "ship_from": ["你们仓库在哪个城市", "从哪里发货的啊", "你家是哪里发货", "发货地是哪里呀亲",
                  "仓库在哪儿", "请问是从哪个城市发货的"],
    "invoice_title": ["发票抬头能改吗", "发票抬头写错了怎么改", "开的发票抬头不对",
                      "抬头开错了能重开吗", "发票抬头填错了 急"],
    "gift_wrap": ["可以帮忙包装成礼物吗", "能不能送礼盒包装", "有没有礼品包装",
                  "礼品盒包装要加钱吗", "送女朋友的 能包装一下吗"],
    "pet_damage": ["我家猫把数据线咬坏了能换吗", "狗把耳机线咬断了还保修吗",
                   "数据线被猫咬了还能修吗", "猫咬坏的充电线给换吗"],
    "live_stream": ["直播间的价格怎么和店里不一样", "直播间买的能退吗", "直播间抢的券用不了",
                    "在直播间下的单 主播说送赠品"],
    "noise": ["阿巴阿巴", "？？？", "。。。"],
}


def candidates():
    out = []
    for topic, messages in TOPICS.items():
        for index, text in enumerate(messages):
            out.append(Candidate(key=f"{topic}-{index}", sender_id=f"{topic}-{index}", event_id=0,
                                 timestamp=float(index), text=text, intent="nlu_fallback",
                                 confidence=0.3, ranking=[("faq", 0.3), ("product_question", 0.2)],
                                 entities=[], reasons={"fallback"}))
    return out


def topic(key: str) -> str:
    return key.rsplit("-", 1)[0]


def test_groups_are_pure_and_topics_stay_together():
    groups = group(candidates(), str(ROOT / "jieba_dict"))
    for found in groups:
        topics = {topic(item.key) for item in found.items}
        assert len(topics) == 1, [item.text for item in found.items]
    # Most of each real topic lands in one group (recall), noise does not join them.
    for name, messages in TOPICS.items():
        if name == "noise":
            continue
        sizes = Counter(id(found) for found in groups for item in found.items
                        if topic(item.key) == name)
        assert max(sizes.values()) >= len(messages) / 2, name
    assert len(groups) <= 15


def test_group_carries_hints_reasons_keywords_and_a_representative():
    groups = group(candidates(), str(ROOT / "jieba_dict"))
    biggest = groups[0]
    assert biggest.hints[0] == ("faq", 0.3)
    assert biggest.reasons == {"fallback": len(biggest.items)}
    assert biggest.representative in biggest.items
    assert biggest.keywords and all(not word.startswith("#") for word in biggest.keywords)
    ship = next(g for g in groups if topic(g.items[0].key) == "ship_from")
    assert {"发货", "仓库"} & set(ship.keywords) or "哪里" in ship.keywords


def test_one_message_and_none():
    assert group([], None) == []
    single = group(candidates()[:1], None)
    assert len(single) == 1 and single[0].items[0].text == "你们仓库在哪个城市"
