"""Choose emotion radar settings by cross-validation on the REAL training messages.

Usage:
    .venv/bin/python scripts/emotion_cv.py [--only NAME ...] [--folds 5]
    .venv/bin/python scripts/emotion_cv.py --final NAME   # the one held-out measurement

The real training messages (data/real/messages*.yml entries with split "train": batch 1's
training part and all of batches 2 and 3) are cut into 5 folds grouped by source dialogue
(messages sharing a text share a group too) and stratified by emotion. Each fold trains the radar on
data/emotion/train.yml minus that fold's messages and predicts them; the out-of-fold
predictions of all folds are pooled into accuracy, macro-F1 and the share of calm messages
scored anxious/angry ("calm flagged"); "batch 1" repeats them on the dialogue messages of
messages.yml alone. "own" is the accuracy on tests/emotion/heldout.yml of the radar trained
on the whole training file. The real held-out split is never read, except by --final,
which prints aggregate figures of the current and the named setting only.

A setting is a set of EmotionRadar options over config.yml's, plus optionally a lexicon
variant (groups added to components/emotion_lexicon.yml, written to a temporary file).
`label_prior` needs no retraining: it is applied to the trained radar of the same options.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from emotion_report import train_radar  # noqa: E402

from components.emotion import LABELS, load_examples  # noqa: E402

TRAIN_FILE = ROOT / "data/emotion/train.yml"
LEXICON_FILE = ROOT / "components/emotion_lexicon.yml"
OWN_HELDOUT = ROOT / "tests/emotion/heldout.yml"
REAL_HELDOUT = ROOT / "tests/emotion/real_heldout.yml"
REAL_MESSAGES = sorted((ROOT / "data/real").glob("messages*.yml"))

# Lexicon groups taken from the labelling guidelines (docs/labelling.md, section 3): the
# cue words they name for calm disappointment, for blame, and positive reviews (rule 6).
LEXICON_GROUPS: Dict[Text, Dict[Text, Any]] = {
    "disappointment": {  # rule 4 and the calm row of the table: disappointment, no blame
        "signals": ["calm"],
        "terms": ["不太好", "一般", "有点失望", "不值这个价", "没有想象中", "没想象中",
                  "不太满意", "有点差", "有点小", "有点贵", "还可以", "凑合", "将就"],
    },
    "blame": {  # rule 4's blame words and the angry row of the table not yet in the lexicon
        "signals": ["angry"], "weight": 0.8,
        "terms": ["坑", "骗", "无语", "什么破", "再也不买", "白等"],
    },
    "positive_review": {  # rule 6: positive or enthusiastic messages are calm
        "signals": ["calm"],
        "terms": ["好评", "喜欢", "满意", "不错", "好吃", "推荐", "值得", "划算", "物美价廉",
                  "很好", "挺好", "超赞", "好用", "很快", "正品", "给力", "实惠"],
        "patterns": ["(好|棒|赞|喜欢|满意|不错|推荐|好吃|值|给力|快)[^,.?。]{0,4}!"],
    },
}

# (name, radar options over config.yml's, lexicon groups added)
SETTINGS: List[Tuple[Text, Dict[Text, Any], Tuple[Text, ...]]] = [
    ("current (config.yml)", {}, ()),
    ("C = 3", {"C": 3.0}, ()),
    ("C = 30", {"C": 30.0}, ()),
    ("hand x0.3", {"hand_feature_weight": 0.3}, ()),
    ("hand x1.0", {"hand_feature_weight": 1.0}, ()),
    ("class weights 0.5", {"class_weight": 0.5}, ()),
    ("class weights 0.75", {"class_weight": 0.75}, ()),
    ("calm prior 1.3", {"label_prior": {"calm": 1.3}}, ()),
    ("calm prior 1.6", {"label_prior": {"calm": 1.6}}, ()),
    ("calm prior 2.0", {"label_prior": {"calm": 2.0}}, ()),
    ("anxious prior 1.5", {"label_prior": {"anxious": 1.5}}, ()),
    ("word 1-grams", {"max_word_ngram": 1}, ()),
    ("word 1-2-grams", {"max_word_ngram": 2}, ()),
    ("lexicon + disappointment", {}, ("disappointment",)),
    ("lexicon + blame", {}, ("blame",)),
    ("lexicon + positive_review", {}, ("positive_review",)),
    ("lexicon + all three", {}, ("disappointment", "blame", "positive_review")),
    ("hand x0.2", {"hand_feature_weight": 0.2}, ()),
    ("hand x0.1", {"hand_feature_weight": 0.1}, ()),
    ("hand x0.3, C = 30", {"hand_feature_weight": 0.3, "C": 30.0}, ()),
    ("hand x0.05", {"hand_feature_weight": 0.05}, ()),
    ("hand x0 (n-grams only)", {"hand_feature_weight": 0.0}, ()),
    ("hand x0.1, C = 30", {"hand_feature_weight": 0.1, "C": 30.0}, ()),
    ("hand x0.1, calm prior 1.3", {"hand_feature_weight": 0.1, "label_prior": {"calm": 1.3}}, ()),
    ("hand x0.1, calm prior 1.6", {"hand_feature_weight": 0.1, "label_prior": {"calm": 1.6}}, ()),
    ("hand x0.1, calm prior 2.0", {"hand_feature_weight": 0.1, "label_prior": {"calm": 2.0}}, ()),
    ("hand x0.1, word 1-grams", {"hand_feature_weight": 0.1, "max_word_ngram": 1}, ()),
    ("hand x0.1, class weights 0.5", {"hand_feature_weight": 0.1, "class_weight": 0.5}, ()),
    ("hand x0.1, word 1-grams, calm prior 1.2",
     {"hand_feature_weight": 0.1, "max_word_ngram": 1, "label_prior": {"calm": 1.2}}, ()),
    ("hand x0.1, word 1-grams, calm prior 1.3",
     {"hand_feature_weight": 0.1, "max_word_ngram": 1, "label_prior": {"calm": 1.3}}, ()),
    ("hand x0.1, word 1-grams, calm prior 1.5",
     {"hand_feature_weight": 0.1, "max_word_ngram": 1, "label_prior": {"calm": 1.5}}, ()),
    ("hand x0.1, word 1-grams, C = 30",
     {"hand_feature_weight": 0.1, "max_word_ngram": 1, "C": 30.0}, ()),
    ("hand x0.05, word 1-grams", {"hand_feature_weight": 0.05, "max_word_ngram": 1}, ()),
    ("hand x0.1, word 1-2-grams", {"hand_feature_weight": 0.1, "max_word_ngram": 2}, ()),
    ("hand x0.1, lexicon + all three", {"hand_feature_weight": 0.1},
     ("disappointment", "blame", "positive_review")),
    ("hand x0.3, C = 30, calm prior 1.3",
     {"hand_feature_weight": 0.3, "C": 30.0, "label_prior": {"calm": 1.3}}, ()),
    ("hand x0.3, C = 30, calm prior 1.6",
     {"hand_feature_weight": 0.3, "C": 30.0, "label_prior": {"calm": 1.6}}, ()),
    ("hand x0.3, calm prior 1.3", {"hand_feature_weight": 0.3, "label_prior": {"calm": 1.3}}, ()),
    ("embedding x0.5", {"sentence_embedding_weight": 0.5}, ()),
    ("embedding x1.0", {"sentence_embedding_weight": 1.0}, ()),
    ("embedding x2.0", {"sentence_embedding_weight": 2.0}, ()),
    ("embedding x1.0, calm prior 1.6",
     {"sentence_embedding_weight": 1.0, "label_prior": {"calm": 1.6}}, ()),
    ("embedding x1.0, C = 10", {"sentence_embedding_weight": 1.0, "C": 10.0}, ()),
    ("embedding x1.0, hand x0.5", {"sentence_embedding_weight": 1.0, "hand_feature_weight": 0.5},
     ()),
    ("embedding x1.0 below 0.9", {"sentence_embedding_weight": 1.0, "embedding_below": 0.9}, ()),
    ("embedding x1.0 below 0.8", {"sentence_embedding_weight": 1.0, "embedding_below": 0.8}, ()),
    # The Universal Sentence Encoder (~3 ms a message: cheap enough for every message).
    ("USE x1.0", {"sentence_embedding_weight": 1.0, "sentence_encoder": "use"}, ()),
    ("USE x2.0", {"sentence_embedding_weight": 2.0, "sentence_encoder": "use"}, ()),
    ("USE x1.0, calm prior 1.6", {"sentence_embedding_weight": 1.0, "sentence_encoder": "use",
                                  "label_prior": {"calm": 1.6}}, ()),
    ("e5 and USE x1.0", {"sentence_embedding_weight": 1.0, "sentence_encoder": "e5+use"}, ()),
]


def deployed_settings() -> Dict[Text, Any]:
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    settings = next(dict(item) for item in pipeline if item["name"].endswith("EmotionRadar"))
    settings.pop("name")
    return settings


def real_training_messages() -> List[Dict[Text, Any]]:
    """Training-split real messages with a group id (dialogue, merged over shared texts)."""
    messages = []
    for path in REAL_MESSAGES:
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]:
            if entry.get("split") == "train":
                messages.append({"text": str(entry["text"]).strip(), "label": entry["emotion"],
                                 "intent": str(entry["intent"]).split("/")[0],
                                 "group": entry["dialogue"], "batch": path.name})
    parent: Dict[Text, Text] = {}

    def find(key: Text) -> Text:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    first_group: Dict[Text, Text] = {}
    for message in messages:
        other = first_group.setdefault(message["text"], message["group"])
        parent[find(message["group"])] = find(other)
    for message in messages:
        message["group"] = find(message["group"])
    return messages


def write_training_file(path: Path, texts: Sequence[Text], labels: Sequence[Text]) -> None:
    lines = ['version: "1"', "emotions:"]
    for label in LABELS:
        lines += [f"  - label: {label}", "    examples: |"]
        lines += [f"      - {text}" for text, gold in zip(texts, labels, strict=True)
                  if gold == label]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_lexicon(path: Path, groups: Sequence[Text]) -> Path:
    if not groups:
        return LEXICON_FILE
    lexicon = yaml.safe_load(LEXICON_FILE.read_text(encoding="utf-8"))
    for name in groups:
        lexicon["cues"][name] = copy.deepcopy(LEXICON_GROUPS[name])
    path.write_text(yaml.safe_dump(lexicon, allow_unicode=True), encoding="utf-8")
    return path


def figures(gold: Sequence[Text], predicted: Sequence[Text]) -> Tuple[float, float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    calm = [label for expected, label in zip(gold, predicted, strict=True) if expected == "calm"]
    return (accuracy_score(gold, predicted),
            f1_score(gold, predicted, average="macro", labels=list(LABELS)),
            sum(label != "calm" for label in calm) / max(len(calm), 1))


def folds(messages: List[Dict[Text, Any]], count: int) -> List[List[int]]:
    from sklearn.model_selection import StratifiedGroupKFold

    splitter = StratifiedGroupKFold(n_splits=count, shuffle=True, random_state=2026)
    labels = [message["label"] for message in messages]
    groups = [message["group"] for message in messages]
    return [list(test) for _, test in splitter.split(labels, labels, groups)]


def options_key(options: Dict[Text, Any], groups: Sequence[Text]) -> Text:
    trained = {key: value for key, value in options.items() if key != "label_prior"}
    return repr((sorted(trained.items()), tuple(groups)))


def trained(folder: Path, **config: Any) -> Any:
    folder.mkdir(parents=True)
    return train_radar(folder, **config)


def predict_all(radar: Any, texts: Sequence[Text], prior: Dict[Text, float]) -> List[Text]:
    radar._config["label_prior"] = prior
    return [radar.predict(text)["label"] for text in texts]


def run_cv(selected: List[Tuple[Text, Dict[Text, Any], Tuple[Text, ...]]], count: int) -> None:
    base = deployed_settings()
    messages = real_training_messages()
    all_texts, all_labels = load_examples(str(TRAIN_FILE))
    known = set(all_texts)
    missing = sum(message["text"] not in known for message in messages)
    fold_indices = folds(messages, count)
    own_texts, own_gold = load_examples(str(OWN_HELDOUT))
    print(f"{len(messages)} real training messages ({missing} not in the training file), "
          f"{count} folds of {[len(fold) for fold in fold_indices]}; "
          f"training file {len(all_texts)} examples", flush=True)
    batch1 = [i for i, message in enumerate(messages) if message["batch"] == "messages.yml"]
    from components import sentence_encoder

    for encoder in {options.get("sentence_encoder", base.get("sentence_encoder", "e5"))
                    for _, options, _ in selected
                    if options.get("sentence_embedding_weight",
                                   base.get("sentence_embedding_weight"))}:
        sentence_encoder.preload([message["text"] for message in messages] + own_texts,
                                 encoder)

    cache: Dict[Text, Tuple[List[Any], Any]] = {}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for name, options, groups in selected:
            started = time.perf_counter()
            key = options_key(options, groups)
            config = {**base, **{k: v for k, v in options.items() if k != "label_prior"},
                      "lexicon_file": str(write_lexicon(tmp / f"lexicon{len(cache)}.yml", groups))}
            if key not in cache:
                fold_radars = []
                for number, fold in enumerate(fold_indices):
                    held = {messages[i]["text"] for i in fold}
                    kept = [(text, label) for text, label
                            in zip(all_texts, all_labels, strict=True) if text not in held]
                    train_path = tmp / f"train{number}.yml"
                    write_training_file(train_path, [text for text, _ in kept],
                                        [label for _, label in kept])
                    fold_radars.append(trained(tmp / f"s{len(cache)}f{number}",
                                                   **{**config, "training_file": str(train_path)}))
                full = trained(tmp / f"s{len(cache)}full",
                                   **{**config, "training_file": str(TRAIN_FILE)})
                cache[key] = (fold_radars, full)
            fold_radars, full = cache[key]
            prior = options.get("label_prior") or base.get("label_prior") or {}
            predicted: List[Text] = [""] * len(messages)
            for radar, fold in zip(fold_radars, fold_indices, strict=True):
                for i, label in zip(fold, predict_all(radar, [messages[i]["text"] for i in fold],
                                                      prior), strict=True):
                    predicted[i] = label
            gold = [message["label"] for message in messages]
            cv = figures(gold, predicted)
            b1 = figures([gold[i] for i in batch1], [predicted[i] for i in batch1])
            own = figures(own_gold, predict_all(full, own_texts, prior))[0]
            rows.append((name, cv, b1, own))
            print(f"{name:<28} CV acc {cv[0]:.3f} F1 {cv[1]:.3f} calm flagged {cv[2]:6.1%} | "
                  f"batch 1 acc {b1[0]:.3f} F1 {b1[1]:.3f} flagged {b1[2]:6.1%} | own {own:.3f}"
                  f"  ({time.perf_counter() - started:.0f} s)", flush=True)

    print("\n| setting | CV accuracy | CV macro-F1 | CV calm flagged | batch 1 accuracy "
          "| batch 1 macro-F1 | batch 1 calm flagged | own held-out accuracy |")
    print("|---|---|---|---|---|---|---|---|")
    for name, cv, b1, own in rows:
        print(f"| {name} | {cv[0]:.3f} | {cv[1]:.3f} | {cv[2]:.1%} | {b1[0]:.3f} | {b1[1]:.3f} "
              f"| {b1[2]:.1%} | {own:.3f} |")


def run_final(chosen: Tuple[Text, Dict[Text, Any], Tuple[Text, ...]]) -> None:
    """The one measurement on the real held-out split: aggregate figures only."""
    base = deployed_settings()
    real_texts, real_gold = load_examples(str(REAL_HELDOUT))
    own_texts, own_gold = load_examples(str(OWN_HELDOUT))
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for name, options, groups in (SETTINGS[0], chosen):
            config = {**base, **{k: v for k, v in options.items() if k != "label_prior"},
                      "lexicon_file": str(write_lexicon(tmp / f"lexicon-{name}.yml", groups)),
                      "training_file": str(TRAIN_FILE)}
            radar = trained(tmp / f"radar-{len(name)}-{hash(name)}", **config)
            prior = options.get("label_prior") or base.get("label_prior") or {}
            real = figures(real_gold, predict_all(radar, real_texts, prior))
            own = figures(own_gold, predict_all(radar, own_texts, prior))
            print(f"{name}: real held-out accuracy {real[0]:.3f}, macro-F1 {real[1]:.3f}, "
                  f"calm flagged {real[2]:.1%}; own held-out accuracy {own[0]:.3f}")


def main(argv: Optional[List[Text]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="setting names to run (default: all)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--final", help="measure this setting and the current one on the "
                        "real held-out split (aggregate figures)")
    args = parser.parse_args(argv)
    by_name = {name: (name, options, groups) for name, options, groups in SETTINGS}
    if args.final:
        run_final(by_name[args.final])
        return
    selected = [by_name[name] for name in args.only] if args.only else SETTINGS
    run_cv(selected, args.folds)


if __name__ == "__main__":
    main()
