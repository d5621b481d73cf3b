"""Second training batch of real customer messages (data/real/README.md, "Batch 2").

Picks further reviews from the review corpora already used by extract.py, chosen where the
model is weakest on the real held-out split: quality problems, complaints about service and
delivery, service ratings of both polarities, and calm-but-negative reviews (disappointment
is not anger). Every message of this batch is TRAINING material; nothing is held out.

Selection is deterministic (fixed keyword rules, seed 17). A review is skipped when

- its row/id was already used by extract.py (data/real/candidates.jsonl),
- it is shorter than 6 or longer than 150 characters,
- its text, with punctuation/whitespace removed, equals a held-out real text
  (tests/nlu/real_heldout.yml, tests/emotion/real_heldout.yml, tests/replay/sessions.yml),
  any text of the first batch (data/real/messages.yml) or any training example already in
  data/nlu/*.yml or data/emotion/train.yml, or an earlier pick of this batch.

Personal data is masked with mask.py. Writes data/real/candidates_2.jsonl (one line per
message, the annotator's numbering for labelling/pass1_batch2_*.txt) and adds the batch's
sources to data/real/provenance_2.json.

  .venv/bin/python scripts/real_data/extract2.py \
      --chinesenlp /work/.mirror/cyy0523xc+ChineseNlpCorpus/repo \
      --fewclue /work/.mirror/CLUEbenchmark+FewCLUE/repo
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import sys
import zipfile
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Set

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import clean, git_head, git_show  # noqa: E402
from mask import mask_personal  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SEED = 17
BATCH_MARKER = "# Real customer messages, batch {}"  # as in build_batch.py

# Keyword rules (on the review text). Order matters: a review goes to the first cell it fits.
QUALITY = re.compile(
    r"破了|破损|破的|坏了|坏的|坏掉|漏水|漏气|漏油|漏液|漏了|异味|味道大|味道很大|气味|刺鼻|臭|"
    r"质量差|质量不好|质量太差|质量很差|质量一般|掉色|褪色|起球|开线|脱线|掉毛|假货|假的|"
    r"裂|划痕|划伤|死机|发烫|不能用|用不了|黑屏|断了|变形|发霉|过期|瑕疵|坏点|不亮|卡顿|"
    r"充不进|没反应|生锈|脱胶|少了|缺|发错"
)
SERVICE = re.compile(r"快递|物流|送货|发货|配送|客服|态度|售后|服务|退货|换货|退款|包装")
# Blame cues of docs/labelling.md (emotion borderline rule 4): reviews without them are the
# "calm but negative" cell.
BLAME = re.compile(
    r"[!！]|垃圾|骗|坑|差评|再也不|恶心|无语|呵呵|气死|傻|滚|烂|什么破|坑爹|醉了|服了"
)
WAIMAI_DELIVERY = re.compile(r"送|慢|小时|骑手|配送|外卖员|小哥|态度|客服|等了")
# Worry / urgency cues (docs/labelling.md, anxious): the reviews hold few anxious messages, so
# a small cell looks for them explicitly (labelled by what the text says, often not anxious).
WORRY = re.compile(r"担心|急用|着急|急需|急着|怎么办|会不会|赶紧|还没收到|还没到")
WAIMAI_WAIT = re.compile(r"饿|催")
WAIMAI_QUALITY = re.compile(
    r"凉|冷了|少|咸|淡|难吃|头发|异物|洒|漏|馊|不新鲜|坏|生的|没熟|油|辣|酸了|硬|苍蝇|虫|味道"
)


def normalize(text: str) -> str:
    """Near-duplicate key, as in build.py: no punctuation, whitespace or emoji, lower case."""
    return re.sub(r"[\W_]+", "", text, flags=re.UNICODE).lower()


def _nlu_texts(path: Path) -> Iterable[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for block in data.get("nlu") or []:
        for line in (block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", line[2:].strip())


def _emotion_texts(path: Path) -> Iterable[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for block in data.get("emotions") or []:
        for line in (block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield line[2:].strip()


def taken_texts(batch: int = 2) -> Set[str]:
    """Normalised texts a message of `batch` must not equal (held-out, earlier batches,
    training data), leaving out what this batch and later ones wrote themselves."""
    texts: Set[str] = set()
    texts.update(_nlu_texts(ROOT / "tests/nlu/real_heldout.yml"))
    texts.update(_emotion_texts(ROOT / "tests/emotion/real_heldout.yml"))
    sessions = yaml.safe_load((ROOT / "tests/replay/sessions.yml").read_text(encoding="utf-8"))
    texts.update(t["text"] for s in sessions["sessions"] for t in s["turns"])
    messages = yaml.safe_load((ROOT / "data/real/messages.yml").read_text(encoding="utf-8"))
    texts.update(m["text"] for m in messages["messages"])
    for path in sorted((ROOT / "data/nlu").glob("*.yml")):
        later = re.fullmatch(r"real_customers_(\d+)\.yml", path.name)
        if later and int(later.group(1)) >= batch:
            continue  # this batch's own output, or a later batch's
        texts.update(_nlu_texts(path))
    # data/emotion/train.yml without this batch's own block (build_batch.py appends it after
    # its BATCH_MARKER, later batches after it), so a re-extraction draws the same messages.
    emotion = (ROOT / "data/emotion/train.yml").read_text(encoding="utf-8")
    head = emotion.split("\n" + BATCH_MARKER.format(batch))[0]
    for block in (yaml.safe_load(head) or {}).get("emotions") or []:
        texts.update(
            line.strip()[2:].strip()
            for line in (block.get("examples") or "").splitlines()
            if line.strip().startswith("- ")
        )
    texts.update(_emotion_texts(ROOT / "data/real/train_emotion.yml"))
    return {normalize(t) for t in texts}


def used_ids() -> Set[str]:
    return {
        json.loads(line)["dialogue"]
        for line in open(ROOT / "data/real/candidates.jsonl", encoding="utf-8")
    }


class Picker:
    """Seeded draws from keyword cells, with the exclusions of the module docstring."""

    def __init__(self) -> None:
        self.taken = taken_texts()
        self.used = used_ids()
        self.picked: List[Dict] = []

    def ok(self, did: str, text: str) -> bool:
        masked = mask_personal(text)
        return (
            did not in self.used
            and 6 <= len(text) <= 150
            and normalize(masked) not in self.taken
            and len(normalize(masked)) > 0
        )

    def draw(
        self,
        rows: List[Dict],
        cell: str,
        n: int,
        rule: Callable[[Dict], bool],
        rng: random.Random,
    ) -> None:
        pool = [r for r in rows if rule(r) and self.ok(r["dialogue"], r["text"])]
        pool.sort(key=lambda r: r["dialogue"])
        rng.shuffle(pool)
        got = 0
        for r in pool:
            if got == n:
                break
            masked = mask_personal(r["text"])
            key = normalize(masked)
            if key in self.taken:  # an earlier pick of this batch
                continue
            self.taken.add(key)
            self.used.add(r["dialogue"])
            self.picked.append({**r, "text": masked, "cell": cell})
            got += 1
        print(f"{cell}: {got} of {len(pool)} eligible")


def load_os10(git_dir: str) -> List[Dict]:
    raw = git_show(git_dir, "datasets/online_shopping_10_cats/online_shopping_10_cats.zip")
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        text = z.read("online_shopping_10_cats.csv").decode("utf-8-sig")
    rows = []
    for i, r in enumerate(csv.DictReader(io.StringIO(text))):
        if r["cat"] == "酒店":  # hotel reviews are not about a shop (as in extract.py)
            continue
        rows.append(
            {
                "dialogue": f"os10-{i + 2}",  # CSV line number, as in extract.py
                "source": "online_shopping_10_cats",
                "text": clean(r.get("review") or ""),
                "label": r["label"],
                "meta": {"cat": r["cat"]},
            }
        )
    return rows


def load_waimai(git_dir: str) -> List[Dict]:
    text = git_show(git_dir, "datasets/waimai_10k/waimai_10k.csv").decode("utf-8-sig")
    return [
        {
            "dialogue": f"waimai-{i + 2}",
            "source": "waimai_10k",
            "text": clean(r["review"]),
            "label": r["label"],
        }
        for i, r in enumerate(csv.DictReader(io.StringIO(text)))
    ]


EPRSTMT_FILES = ("train_few_all", "dev_few_all")


def load_eprstmt(git_dir: str) -> List[Dict]:
    rows = []
    for name in EPRSTMT_FILES:
        for line in git_show(git_dir, f"datasets/eprstmt/{name}.json").decode("utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                rows.append(
                    {
                        # ids restart in every file; the file name keeps them apart from the
                        # test_public ids used by extract.py (eprstmt-<id>).
                        "dialogue": f"eprstmt-{name.split('_')[0]}-{r['id']}",
                        "source": "eprstmt",
                        "text": clean(r["sentence"]),
                        "label": r["label"],
                    }
                )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--chinesenlp", required=True, help="git dir of cyy0523xc/ChineseNlpCorpus")
    ap.add_argument("--fewclue", required=True, help="git dir of CLUEbenchmark/FewCLUE")
    ap.add_argument("--out", default=str(ROOT / "data/real"))
    args = ap.parse_args()

    picker = Picker()
    os10 = load_os10(args.chinesenlp)
    waimai = load_waimai(args.chinesenlp)
    epr = load_eprstmt(args.fewclue)
    # The first batch used eprstmt's test_public file: its texts are excluded as well (the same
    # review may appear in several FewCLUE files).
    test_public = git_show(args.fewclue, "datasets/eprstmt/test_public.json").decode("utf-8")
    picker.taken.update(
        normalize(mask_personal(clean(json.loads(line)["sentence"])))
        for line in test_public.splitlines()
        if line.strip()
    )

    def neg(r: Dict) -> bool:
        return r["label"] in ("0", "Negative")

    def pos(r: Dict) -> bool:
        return r["label"] in ("1", "Positive")

    def q(r: Dict) -> bool:
        return bool(QUALITY.search(r["text"]))

    def s(r: Dict) -> bool:
        return bool(SERVICE.search(r["text"]))

    def blame(r: Dict) -> bool:
        return bool(BLAME.search(r["text"]))

    # One generator per cell, so the size of one cell does not change the draws of another.
    picker.draw(os10, "os10_quality", 170, lambda r: neg(r) and q(r), random.Random(SEED))
    picker.draw(
        os10,
        "os10_service_neg",
        130,
        lambda r: neg(r) and s(r) and not q(r),
        random.Random(SEED + 1),
    )
    picker.draw(
        os10,
        "os10_calm_neg",
        80,
        lambda r: neg(r) and not q(r) and not s(r) and not blame(r),
        random.Random(SEED + 2),
    )
    picker.draw(os10, "os10_service_pos", 70, lambda r: pos(r) and s(r), random.Random(SEED + 3))
    picker.draw(
        waimai,
        "waimai_delivery_neg",
        50,
        lambda r: neg(r) and bool(WAIMAI_DELIVERY.search(r["text"])),
        random.Random(SEED + 4),
    )
    picker.draw(
        waimai,
        "waimai_quality_neg",
        40,
        lambda r: neg(r)
        and bool(WAIMAI_QUALITY.search(r["text"]))
        and not WAIMAI_DELIVERY.search(r["text"]),
        random.Random(SEED + 5),
    )
    picker.draw(
        waimai,
        "waimai_pos",
        20,
        lambda r: pos(r) and bool(WAIMAI_DELIVERY.search(r["text"])),
        random.Random(SEED + 6),
    )
    picker.draw(epr, "eprstmt_train_dev", 80, lambda r: True, random.Random(SEED + 7))
    # Added after the first 640 were labelled; later cells do not change earlier draws.
    picker.draw(
        os10, "os10_worry", 40, lambda r: bool(WORRY.search(r["text"])), random.Random(SEED + 8)
    )
    picker.draw(
        waimai,
        "waimai_wait",
        20,
        lambda r: bool(WAIMAI_WAIT.search(r["text"])),
        random.Random(SEED + 9),
    )

    out = Path(args.out)
    with open(out / "candidates_2.jsonl", "w", encoding="utf-8") as f:
        for r in picker.picked:
            rec = {
                "id": r["dialogue"],
                "source": r["source"],
                "dialogue": r["dialogue"],
                "turn": 1,
                "in_session": True,
                "text": r["text"],
                "cell": r["cell"],
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    commit_cnlp, commit_few = git_head(args.chinesenlp), git_head(args.fewclue)
    provenance = {
        "online_shopping_10_cats": {
            "repo": "cyy0523xc/ChineseNlpCorpus",
            "commit": commit_cnlp,
            "paths": ["datasets/online_shopping_10_cats/online_shopping_10_cats.zip"],
        },
        "waimai_10k": {
            "repo": "cyy0523xc/ChineseNlpCorpus",
            "commit": commit_cnlp,
            "paths": ["datasets/waimai_10k/waimai_10k.csv"],
        },
        "eprstmt": {
            "repo": "CLUEbenchmark/FewCLUE",
            "commit": commit_few,
            "paths": [f"datasets/eprstmt/{name}.json" for name in EPRSTMT_FILES],
        },
    }
    (out / "provenance_2.json").write_text(
        json.dumps(provenance, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(picker.picked)} messages to {out / 'candidates_2.jsonl'}")


if __name__ == "__main__":
    main()
