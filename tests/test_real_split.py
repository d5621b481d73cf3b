"""Checks of the real-message split (data/real/README.md): the held-out side stays untouched.

- held-out and training parts share no dialogue and no (near-)duplicate text;
- no held-out real text appears in the project's own training data (data/nlu, data/emotion);
- counts: >= 1200 labelled messages, >= 600 held out, >= 80 replay sessions from held-out dialogues;
- every label is a catalogue intent the domain declares (faq/<topic> from data/nlu/faq.yml) and one
  of the radar's emotions;
- the generated files agree with data/real/messages.yml;
- nothing under data/real is a Rasa NLU file (rasa would train on it);
- the later training batches N = 2 (reviews) and 3 (STC-3 training dialogues)
  (data/real/messages_N.yml -> data/nlu/real_customers_N.yml, data/real/train_emotion_N.yml,
  data/emotion/train.yml) are training only: no dialogue of an earlier batch, no text equal to
  a held-out one or an earlier batch's, a minimum size, >= 20 % double-labelled.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts/real_data"))

from mask import mask_personal  # noqa: E402

MESSAGES = ROOT / "data/real/messages.yml"
NLU_HELDOUT = ROOT / "tests/nlu/real_heldout.yml"
EMOTION_HELDOUT = ROOT / "tests/emotion/real_heldout.yml"
NLU_TRAIN = ROOT / "data/nlu/real_customers.yml"
EMOTION_TRAIN = ROOT / "data/real/train_emotion.yml"
SESSIONS = ROOT / "tests/replay/sessions.yml"
EMOTION_RADAR_TRAIN = ROOT / "data/emotion/train.yml"
BATCH_MARKER = "# Real customer messages, batch {}"
# batch -> minimum number of messages
BATCHES = {2: 600, 3: 2000}
NLU_TRAIN_LATER = [ROOT / f"data/nlu/real_customers_{b}.yml" for b in BATCHES]
EMOTION_TRAIN_LATER = [ROOT / f"data/real/train_emotion_{b}.yml" for b in BATCHES]
EMOTIONS = {"calm", "anxious", "angry"}


def normalize(text: str) -> str:
    return re.sub(r"[\W_]+", "", text, flags=re.UNICODE).lower()


def nlu_examples(path: Path) -> List[Tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for block in data.get("nlu") or []:
        if "intent" not in block:
            continue
        for line in (block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                # Entity annotations are not used in the real files; plain text.
                out.append((block["intent"], line[2:].strip()))
    return out


def emotion_examples(path: Path) -> List[Tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for block in data.get("emotions") or []:
        for line in (block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                out.append((block["label"], line[2:].strip()))
    return out


def plain(text: str) -> str:
    """Undo build.py's full-width bracket that keeps real text from reading as an entity."""
    return text.replace("］", "]")


@pytest.fixture(scope="module")
def messages() -> List[Dict]:
    return yaml.safe_load(MESSAGES.read_text(encoding="utf-8"))["messages"]


@pytest.fixture(scope="module")
def known_intents() -> Set[str]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    faq = yaml.safe_load((ROOT / "data/nlu/faq.yml").read_text(encoding="utf-8"))
    topics = {b["intent"] for b in faq["nlu"] if str(b.get("intent", "")).startswith("faq/")}
    assert "faq" in intents
    return (intents - {"faq", "nlu_fallback"}) | topics


def test_counts(messages: List[Dict]) -> None:
    held = [m for m in messages if m["split"] == "heldout"]
    assert len(messages) >= 1200
    assert len(held) >= 600
    assert len(nlu_examples(NLU_HELDOUT)) >= 600
    assert len(emotion_examples(EMOTION_HELDOUT)) == len(held)
    assert len({m["id"] for m in messages}) == len(messages)
    # The independent second pass covers at least 20 % of the messages.
    assert sum(1 for m in messages if "second_label" in m) >= 0.2 * len(messages)


def test_labels_are_known(messages: List[Dict], known_intents: Set[str]) -> None:
    for m in messages:
        assert m["intent"] in known_intents, m
        assert m["emotion"] in EMOTIONS, m
    for path in (NLU_HELDOUT, NLU_TRAIN, *NLU_TRAIN_LATER):
        for intent, _ in nlu_examples(path):
            assert intent in known_intents, (path, intent)
    for path in (EMOTION_HELDOUT, EMOTION_TRAIN, *EMOTION_TRAIN_LATER):
        for label, _ in emotion_examples(path):
            assert label in EMOTIONS, (path, label)


def test_split_by_dialogue(messages: List[Dict]) -> None:
    parts: Dict[str, Set[str]] = {}
    for m in messages:
        part = "heldout" if m["split"] == "heldout" else "train"
        parts.setdefault(m["dialogue"], set()).add(part)
    mixed = [d for d, p in parts.items() if len(p) > 1]
    assert not mixed, f"dialogues on both sides: {mixed[:5]}"


def test_no_heldout_text_in_training(messages: List[Dict]) -> None:
    held = {normalize(t) for _, t in nlu_examples(NLU_HELDOUT)} | {
        normalize(t) for _, t in emotion_examples(EMOTION_HELDOUT)
    }
    train_texts = [t for path in (NLU_TRAIN, *NLU_TRAIN_LATER) for _, t in nlu_examples(path)] + [
        t for path in (EMOTION_TRAIN, *EMOTION_TRAIN_LATER) for _, t in emotion_examples(path)
    ]
    leaks = sorted({t for t in train_texts if normalize(t) in held})
    assert not leaks, f"held-out real texts in the real training part: {leaks[:10]}"


def test_heldout_not_absorbed_by_project_training_data() -> None:
    """A trainer copying real messages into data/ must not take held-out ones.

    Short generic messages (你好, 什么时候发货: fewer than 8 characters once normalised) exist
    in the project's own data independently; only longer, specific held-out texts count.
    """
    held = {normalize(t) for _, t in nlu_examples(NLU_HELDOUT)} | {
        normalize(t) for _, t in emotion_examples(EMOTION_HELDOUT)
    }
    held = {t for t in held if len(t) >= 8}
    texts: List[str] = []
    for path in sorted((ROOT / "data").rglob("*.yml")):
        if (ROOT / "data/real") in path.parents:
            continue
        texts += [
            re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", t) for _, t in nlu_examples(path)
        ]
        texts += [t for _, t in emotion_examples(path)]
    leaks = sorted({t for t in texts if normalize(t) in held})
    assert not leaks, f"held-out real texts found in data/: {leaks[:10]}"


def test_files_match_messages(messages: List[Dict]) -> None:
    held = Counter((m["intent"], m["text"]) for m in messages if m["split"] == "heldout")
    assert Counter((i, plain(t)) for i, t in nlu_examples(NLU_HELDOUT)) == held
    held_emotion = Counter((m["emotion"], m["text"]) for m in messages if m["split"] == "heldout")
    assert Counter((e, t) for e, t in emotion_examples(EMOTION_HELDOUT)) == held_emotion
    train = {(m["intent"], m["text"]) for m in messages if m["split"] == "train"}
    assert {(i, plain(t)) for i, t in nlu_examples(NLU_TRAIN)} == train


def batch_messages(batch: int) -> List[Dict]:
    path = ROOT / f"data/real/messages_{batch}.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]


@pytest.mark.parametrize("batch", sorted(BATCHES))
def test_batch_counts_and_labels(batch: int, known_intents: Set[str]) -> None:
    rows = batch_messages(batch)
    assert len(rows) >= BATCHES[batch]
    assert len({m["id"] for m in rows}) == len(rows)
    assert all(m["split"] == "train" for m in rows)
    assert sum(1 for m in rows if "second_label" in m) >= 0.2 * len(rows)
    for m in rows:
        assert m["intent"] in known_intents | {"faq"}, m
        assert m["emotion"] in EMOTIONS, m
        if batch == 2:  # reviews were drawn at chat length
            assert 6 <= len(m["text"]) <= 150, m


@pytest.mark.parametrize("batch", sorted(BATCHES))
def test_batch_is_new_material(batch: int, messages: List[Dict]) -> None:
    """No dialogue of an earlier batch (held-out or training) is used again, and no text
    equals a held-out text, an earlier batch's text or another text of the batch."""
    rows = batch_messages(batch)
    earlier = messages + [m for b in BATCHES if b < batch for m in batch_messages(b)]
    assert not {m["dialogue"] for m in earlier} & {m["dialogue"] for m in rows}
    held = {normalize(t) for _, t in nlu_examples(NLU_HELDOUT)} | {
        normalize(t) for _, t in emotion_examples(EMOTION_HELDOUT)
    }
    sessions = yaml.safe_load(SESSIONS.read_text(encoding="utf-8"))["sessions"]
    held |= {normalize(t["text"]) for s in sessions for t in s["turns"]}
    before = {normalize(m["text"]) for m in earlier}
    keys = [normalize(m["text"]) for m in rows]
    assert len(set(keys)) == len(keys)
    assert not held & set(keys), sorted(held & set(keys))[:5]
    assert not before & set(keys), sorted(before & set(keys))[:5]


def test_texts_without_entity_annotations_are_marked_for_the_crf() -> None:
    """Real messages (and the second real-style batch) carry no entity annotations: every
    block says so, and the CRF (components/annotated_crf.py) leaves them out of its training
    instead of learning that the products and couriers they mention are no entities."""
    for path in [NLU_TRAIN, *NLU_TRAIN_LATER, ROOT / "data/nlu/real_style_2.yml"]:
        blocks = yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]
        assert blocks and all(b.get("metadata") == {"entities": "unannotated"}
                              for b in blocks), path
        assert not re.search(r"\]\(|\]\{", path.read_text(encoding="utf-8")), path


@pytest.mark.parametrize("batch", sorted(BATCHES))
def test_batch_files_match_messages(batch: int) -> None:
    rows = batch_messages(batch)
    nlu = ROOT / f"data/nlu/real_customers_{batch}.yml"
    assert {(i, plain(t)) for i, t in nlu_examples(nlu)} == {
        (m["intent"], m["text"]) for m in rows if m["intent"] != "faq"
    }
    emotions = Counter((m["emotion"], m["text"]) for m in rows)
    assert Counter(emotion_examples(ROOT / f"data/real/train_emotion_{batch}.yml")) == emotions
    # The radar trains on data/emotion/train.yml: the batch's block is this batch, verbatim.
    text = EMOTION_RADAR_TRAIN.read_text(encoding="utf-8")
    marker = BATCH_MARKER.format(batch)
    assert text.count(marker) == 1
    # From the batch's first block to the next section's comment header.
    block = text.split(marker, 1)[1]
    block = block[block.index("  - label:"):].split("\n#", 1)[0]
    in_radar = Counter(
        (b["label"], line.strip()[2:].strip())
        for b in yaml.safe_load("emotions:\n" + block)["emotions"]
        for line in b["examples"].splitlines()
        if line.strip().startswith("- ")
    )
    assert in_radar == emotions


def test_replay_sessions(messages: List[Dict]) -> None:
    by_id = {m["id"]: m for m in messages}
    sessions = yaml.safe_load(SESSIONS.read_text(encoding="utf-8"))["sessions"]
    assert len(sessions) >= 80
    for s in sessions:
        assert len(s["turns"]) >= 2, s["id"]
        for turn in s["turns"]:
            m = by_id[turn["id"]]
            assert (
                m["split"] == "heldout" and m["dialogue"] == s["id"] and m["text"] == turn["text"]
            )
        turns = [by_id[t["id"]]["turn"] for t in s["turns"]]
        assert turns == sorted(turns), s["id"]


def test_no_rasa_nlu_file_under_data_real() -> None:
    """`rasa train`/`rasa data validate` read every NLU file under data/: none may hold real
    messages."""
    from rasa.shared.nlu.training_data import loading

    for path in sorted((ROOT / "data/real").rglob("*")):
        if path.is_file() and path.suffix in {".yml", ".yaml", ".json"}:
            assert loading.guess_format(str(path)) == loading.UNK, path


def test_masking_is_format_preserving() -> None:
    text = "电话13812345678 订单号362918475601928374 邮箱abc.def@qq.com"
    masked = mask_personal(text)
    assert (
        "13812345678" not in masked
        and "362918475601928374" not in masked
        and "abc.def" not in masked
    )
    phone = re.search(r"1[3-9]\d{9}", masked)
    order = re.search(r"\d{18}", masked)
    assert phone and phone.group(0).startswith("138") and order and order.group(0).startswith("36")
    assert mask_personal(text) == masked  # deterministic: a re-extraction gives the same text
