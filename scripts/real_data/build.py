"""Build the labelled real-message set, its split and the replay sessions.

Inputs (all in data/real/): candidates.jsonl and dialogues.jsonl (from extract.py),
labels_pass1.tsv (every message), labels_pass2.tsv (the independent second pass over a random
sample), adjudication.tsv (final decision where the two passes disagreed).

Outputs:
  data/real/messages.yml            every message with source, text, final labels, second label
  data/real/agreement.json          raw agreement and Cohen's kappa of the two passes
  data/real/split.json              dialogue -> heldout/train, counts per part/intent/emotion
  tests/nlu/real_heldout.yml        held-out real split, Rasa NLU YAML (never train on it)
  tests/emotion/real_heldout.yml    held-out real split, emotion YAML (tests/emotion format)
  data/nlu/real_customers.yml       training part, Rasa NLU YAML (trained on with the rest of
                                    data/nlu).
  data/real/train_emotion.yml       training part for the emotion radar
  tests/replay/sessions.yml         >= 80 held-out multi-turn sessions (customer turns only)

Usage: .venv/bin/python scripts/real_data/build.py
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

import yaml

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "data/real"
SEED = 16
# Share of dialogues held out, per source. The chats (ECD, STC-3) are what the bot meets and
# feed the replay sessions, so more of them are held out; reviews mostly go to training.
HELDOUT_SHARE = {
    "ecd": 0.6,
    "stc3": 0.6,
    "online_shopping_10_cats": 0.4,
    "waimai_10k": 0.4,
    "eprstmt": 0.4,
}
MIN_PER_INTENT = 10
EMOTIONS = ("calm", "anxious", "angry")
# Intents that make a session "about the shop" for the replay set (not chit-chat only).
SHOP_INTENTS = {
    "query_order_status",
    "track_logistics",
    "ask_shipping_time",
    "urge_delivery",
    "change_address",
    "cancel_order",
    "request_return",
    "request_refund",
    "request_exchange",
    "query_refund_progress",
    "report_quality_issue",
    "ask_size",
    "product_question",
    "ask_usage",
    "ask_promotion",
    "ask_invoice",
    "wholesale_inquiry",
    "complain",
}


def read_tsv(path: Path) -> Dict[str, Dict[str, str]]:
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as f:
        return {r["id"]: r for r in csv.DictReader(f, delimiter="\t")}


def normalize(text: str) -> str:
    """Near-duplicate key: no punctuation, whitespace or emoji, lower case."""
    return re.sub(r"[\W_]+", "", text, flags=re.UNICODE).lower()


def kappa(a: Sequence[str], b: Sequence[str]) -> float:
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def domain_intents() -> set:
    domain = yaml.safe_load(open(ROOT / "domain.yml", encoding="utf-8"))
    intents = set()
    for item in domain.get("intents", []):
        intents.add(item if isinstance(item, str) else next(iter(item)))
    return intents


def faq_topics() -> set:
    data = yaml.safe_load(open(ROOT / "data/nlu/faq.yml", encoding="utf-8"))
    return {
        b["intent"] for b in data.get("nlu", []) if "intent" in b and b["intent"].startswith("faq/")
    }


def rasa_safe(text: str) -> str:
    """Rasa reads `[x](y)`, `[x]{..}` and `[x][..]` as entity annotations; real text that happens to
    contain `](`, `]{` or `][` gets a full-width bracket so it stays plain text."""
    return re.sub(r"\](?=\s*[\(\{\[])", "］", text)


def block(examples: Iterable[str]) -> str:
    return "".join(f"    - {rasa_safe(t)}\n" for t in examples)


def write_nlu(path: Path, header: str, rows: List[Dict], training: bool = False) -> None:
    """``training``: mark every block `metadata: {entities: unannotated}` — real messages carry
    no entity annotations, so the CRF leaves them out (components/annotated_crf.py)."""
    by_intent: Dict[str, List[str]] = defaultdict(list)
    for r in rows:
        by_intent[r["intent"]].append(r["text"])
    out = ['version: "3.1"\n\n', header, "nlu:\n"]
    for intent in sorted(by_intent):
        metadata = "  metadata: {entities: unannotated}\n" if training else ""
        out.append(f"- intent: {intent}\n{metadata}  examples: |\n")
        out.append(block(by_intent[intent]))
        out.append("\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(out), encoding="utf-8")


def write_emotion(path: Path, header: str, rows: List[Dict]) -> None:
    by_label: Dict[str, List[str]] = defaultdict(list)
    for r in rows:
        by_label[r["emotion"]].append(r["text"])
    out = ['version: "1"\n', header, "emotions:\n"]
    for label in EMOTIONS:
        if by_label[label]:
            out.append(f"  - label: {label}\n    examples: |\n")
            out.append("".join(f"      - {t}\n" for t in by_label[label]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(out), encoding="utf-8")


def agreement(p1: Dict, p2: Dict) -> Dict:
    ids = sorted(p2)
    res: Dict = {"n": len(ids)}
    for field in ("intent", "emotion"):
        a = [p1[i][field] for i in ids]
        b = [p2[i][field] for i in ids]
        res[field] = {
            "raw": round(sum(x == y for x, y in zip(a, b, strict=True)) / len(ids), 4),
            "kappa": round(kappa(a, b), 4),
            "disagreements": [
                {"id": i, "pass1": x, "pass2": y}
                for i, x, y in zip(ids, a, b, strict=True)
                if x != y
            ],
        }
    return res


def split(messages: List[Dict]) -> Dict[str, str]:
    rng = random.Random(SEED)
    dialogues: Dict[str, List[Dict]] = defaultdict(list)
    for m in messages:
        dialogues[m["dialogue"]].append(m)
    part: Dict[str, str] = {}
    by_source: Dict[str, List[str]] = defaultdict(list)
    for d, ms in dialogues.items():
        by_source[ms[0]["source"]].append(d)
    for source, ds in sorted(by_source.items()):
        ds = sorted(ds)
        rng.shuffle(ds)
        k = round(len(ds) * HELDOUT_SHARE[source])
        for i, d in enumerate(ds):
            part[d] = "heldout" if i < k else "train"
    # Top up rare intents: move whole training dialogues that contain an intent with fewer than
    # MIN_PER_INTENT held-out examples, as long as the training part keeps some of it too.
    total = Counter(m["intent"] for m in messages)
    for intent in sorted(total):

        def held(intent: str = intent) -> int:
            return sum(
                1 for m in messages if m["intent"] == intent and part[m["dialogue"]] == "heldout"
            )

        candidates = sorted(
            {
                m["dialogue"]
                for m in messages
                if m["intent"] == intent and part[m["dialogue"]] == "train"
            }
        )
        rng.shuffle(candidates)
        while (
            held() < MIN_PER_INTENT
            and candidates
            and total[intent] - held() > max(2, total[intent] // 4)
        ):
            part[candidates.pop()] = "heldout"
    return part


def main() -> None:
    cands = [json.loads(line) for line in open(REAL / "candidates.jsonl", encoding="utf-8")]
    p1 = read_tsv(REAL / "labels_pass1.tsv")
    p2 = read_tsv(REAL / "labels_pass2.tsv")
    adj = read_tsv(REAL / "adjudication.tsv")
    missing = [c["id"] for c in cands if c["id"] not in p1]
    if missing:
        raise SystemExit(f"{len(missing)} messages without a pass-1 label, e.g. {missing[:3]}")
    agr = agreement(p1, p2)
    (REAL / "agreement.json").write_text(
        json.dumps(agr, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )

    known = (domain_intents() - {"faq", "nlu_fallback"}) | faq_topics()
    messages: List[Dict] = []
    for c in cands:
        lab = dict(p1[c["id"]])
        if c["id"] in adj:
            lab["intent"], lab["emotion"] = adj[c["id"]]["intent"], adj[c["id"]]["emotion"]
        if lab["intent"] == "DROP":
            continue
        if lab["intent"] not in known and lab["intent"] != "faq":
            raise SystemExit(f"{c['id']}: unknown intent {lab['intent']}")
        m = {
            "id": c["id"],
            "source": c["source"],
            "dialogue": c["dialogue"],
            "turn": c["turn"],
            "text": c["text"],
            "intent": lab["intent"],
            "emotion": lab["emotion"],
        }
        if c["id"] in p2:
            m["second_label"] = {"intent": p2[c["id"]]["intent"], "emotion": p2[c["id"]]["emotion"]}
        if c["id"] in adj:
            m["adjudicated"] = adj[c["id"]]["note"]
        if lab.get("note"):
            m["note"] = lab["note"]
        messages.append(m)

    part = split(messages)
    for m in messages:
        m["split"] = part[m["dialogue"]]
    held = [m for m in messages if m["split"] == "heldout"]
    held_keys = {normalize(m["text"]) for m in held}
    # A training message equal to a held-out one after normalisation (好的, 在吗 ...) is dropped
    # from training: the held-out side stays untouched.
    train = [m for m in messages if m["split"] == "train" and normalize(m["text"]) not in held_keys]
    dropped = [
        m["id"] for m in messages if m["split"] == "train" and normalize(m["text"]) in held_keys
    ]
    # Within training, keep one copy per normalised text and label.
    seen = set()
    train_unique = []
    for m in train:
        key = (normalize(m["text"]), m["intent"], m["emotion"])
        if key not in seen:
            seen.add(key)
            train_unique.append(m)
    for m in messages:
        if m["id"] in dropped:
            m["split"] = "train_dropped_duplicate"

    with open(REAL / "messages.yml", "w", encoding="utf-8") as f:
        f.write(
            "# Real customer messages from public corpora, labelled per docs/labelling.md.\n"
            "# Generated by scripts/real_data/build.py from candidates.jsonl + labels_*.tsv;\n"
            "# do not edit by hand.\n"
        )
        yaml.safe_dump({"messages": messages}, f, allow_unicode=True, sort_keys=False, width=10000)

    nlu_held = [m for m in held if m["intent"] != "faq"]
    write_nlu(
        ROOT / "tests/nlu/real_heldout.yml",
        "# Held-out REAL customer messages (public corpora, see data/real/README.md).\n"
        "# Never train on it. Generated by scripts/real_data/build.py.\n"
        "# Run: rasa test nlu --nlu tests/nlu/real_heldout.yml\n\n",
        nlu_held,
    )
    write_emotion(
        ROOT / "tests/emotion/real_heldout.yml",
        "# Held-out REAL customer messages with their emotion label (data/real/README.md).\n"
        "# Never train on it.\n"
        "# Generated by scripts/real_data/build.py.\n",
        held,
    )
    write_nlu(
        ROOT / "data/nlu/real_customers.yml",
        "# Training part of the real customer messages (data/real/README.md): 529 real messages\n"
        "# from public corpora, labelled with the PRODUCT.md catalogue; their held-out part is\n"
        "# tests/nlu/real_heldout.yml (split by source dialogue). Generated by\n"
        "# scripts/real_data/build.py; adopted into the training data after the experiment in\n"
        "# docs/nlu_experiments.md.\n\n",
        [m for m in train_unique if m["intent"] != "faq"],
        training=True,
    )
    write_emotion(
        REAL / "train_emotion.yml",
        "# Training part of the real customer messages with emotion labels (data/real/README.md).\n"
        "# Generated by scripts/real_data/build.py.\n",
        train_unique,
    )

    # Replay sessions: held-out multi-turn dialogues about shop topics, customer turns in order.
    by_id = {m["id"]: m for m in messages}
    sessions = []
    for line in open(REAL / "dialogues.jsonl", encoding="utf-8"):
        d = json.loads(line)
        if part.get(d["dialogue"]) != "heldout":
            continue
        turns = [t for t in d["turns"] if t["id"] in by_id]
        intents = [by_id[t["id"]]["intent"] for t in turns]
        if len(turns) < 2 or not SHOP_INTENTS.intersection(intents):
            continue
        sessions.append(
            {
                "id": d["dialogue"],
                "source": d["source"],
                # Gold labels of each turn (from messages.yml) for replay assertions.
                "turns": [
                    {
                        "id": t["id"],
                        "text": t["text"],
                        "intent": by_id[t["id"]]["intent"],
                        "emotion": by_id[t["id"]]["emotion"],
                    }
                    for t in turns
                ],
            }
        )
    replay = ROOT / "tests/replay/sessions.yml"
    replay.parent.mkdir(parents=True, exist_ok=True)
    with open(replay, "w", encoding="utf-8") as f:
        f.write(
            "# Real multi-turn customer sessions (customer turns only, in order) from the\n"
            "# HELD-OUT side of the real split (data/real/README.md): ECD Taobao chats and\n"
            "# NTCIR-14 STC-3 helpdesk dialogues about shop topics.\n"
            "# Generated by scripts/real_data/build.py; ids match data/real/messages.yml.\n"
        )
        yaml.safe_dump(
            {"version": "1", "sessions": sessions},
            f,
            allow_unicode=True,
            sort_keys=False,
            width=10000,
        )

    def counts(rows: List[Dict]) -> Dict:
        return {
            "messages": len(rows),
            "dialogues": len({r["dialogue"] for r in rows}),
            "per_source": dict(sorted(Counter(r["source"] for r in rows).items())),
            "per_intent": dict(
                sorted(Counter(r["intent"] for r in rows).items(), key=lambda kv: -kv[1])
            ),
            "per_emotion": {e: sum(1 for r in rows if r["emotion"] == e) for e in EMOTIONS},
        }

    stats = {
        "all": counts(messages),
        "heldout": counts(held),
        "train": counts(train_unique),
        "train_dropped_as_duplicate_of_heldout": len(dropped),
        "nlu_heldout_messages": len(nlu_held),
        "replay_sessions": len(sessions),
        "replay_turns": sum(len(s["turns"]) for s in sessions),
        "dialogue_split": dict(sorted(part.items())),
    }
    (REAL / "split.json").write_text(
        json.dumps(stats, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(
        json.dumps(
            {k: v for k, v in stats.items() if k != "dialogue_split"}, ensure_ascii=False, indent=1
        )
    )
    print(
        "agreement:",
        {f: {k: agr[f][k] for k in ("raw", "kappa")} for f in ("intent", "emotion")},
        "n =",
        agr["n"],
    )


if __name__ == "__main__":
    main()
