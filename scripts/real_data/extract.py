"""Extract real Chinese customer messages from public corpora (fetched git mirrors).

Reads the bare git directories given on the command line (``git show HEAD:<path>``, so a
snapshot is enough, no work tree) and writes ``data/real/candidates.jsonl``: one line per
selected customer message with its source id, dialogue id and turn, plus
``data/real/dialogues.jsonl`` with the ordered customer turns of every multi-turn dialogue.

Selection is deterministic (fixed rules and a fixed random seed), see docs in
data/real/README.md. Personal data is masked with format-preserving fakes (see mask.py).

Usage:
  .venv/bin/python scripts/real_data/extract.py \
      --ecd /work/.mirror/cooelf+DeepUtteranceAggregation/repo/.git \
      --stc3 /work/.mirror/SeanCherngTW+NTCIR-STC3-NDDQsubtask/repo/.git \
      --chinesenlp /work/.mirror/cyy0523xc+ChineseNlpCorpus/repo \
      --fewclue /work/.mirror/CLUEbenchmark+FewCLUE/repo \
      --out data/real
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mask import mask_personal  # noqa: E402

SEED = 16
CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"


def git_show(git_dir: str, path: str) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", git_dir, "show", f"HEAD:{path}"], check=True, capture_output=True
    ).stdout


def git_head(git_dir: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, "rev-parse", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def detokenize(text: str) -> str:
    """ECD is word-segmented with spaces; customers typed no spaces between Chinese words."""
    text = text.strip()
    # Drop a space when a Chinese character (or full-width punctuation) is on either side.
    text = re.sub(rf"(?<=[{CJK}]) +(?=\S)", "", text)
    text = re.sub(rf"(?<=\S) +(?=[{CJK}])", "", text)
    return text


def clean(text: str) -> str:
    # Zero-width spaces and line breaks are invisible platform artefacts; one line per message.
    text = text.replace("\u200b", "").replace("\ufeff", "")
    text = re.sub(r"\s+", " ", text).strip()
    return text


# --------------------------------------------------------------------------- ECD (Taobao)


def ecd_dialogues(git_dir: str) -> List[Dict]:
    """Group the ECD sample's contexts into dialogues.

    Each line is `label \\t u1 \\t ... \\t un \\t response`; a context is repeated with 10
    candidate responses. The last context turn is the customer's (the response is the
    shop's) and turns alternate, so the customer turns are un, un-2, ... Contexts of one
    conversation cut at different points share turns: they are merged (union of contexts
    that share a turn of at least 6 characters or a prefix).
    """
    contexts: List[Tuple[str, int, Tuple[str, ...]]] = []
    seen = set()
    for name in ("test", "train"):  # valid is byte-identical to train
        for i, line in enumerate(
            git_show(git_dir, f"ECD_sample/{name}").decode("utf-8").splitlines()
        ):
            parts = line.split("\t")
            ctx = tuple(detokenize(u) for u in parts[1:-1])
            if ctx and ctx not in seen:
                seen.add(ctx)
                contexts.append((name, i + 1, ctx))
    parent = list(range(len(contexts)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    owner: Dict[str, int] = {}
    for idx, (_, _, ctx) in enumerate(contexts):
        for u in ctx:
            if len(u) >= 6:
                if u in owner:
                    parent[find(idx)] = find(owner[u])
                else:
                    owner[u] = idx
    for a in range(len(contexts)):
        for b in range(a + 1, len(contexts)):
            ca, cb = contexts[a][2], contexts[b][2]
            short, long_ = (ca, cb) if len(ca) <= len(cb) else (cb, ca)
            if long_[: len(short)] == short:
                parent[find(a)] = find(b)
    groups: Dict[int, List[int]] = {}
    for idx in range(len(contexts)):
        groups.setdefault(find(idx), []).append(idx)
    dialogues = []
    for members in sorted(groups.values(), key=lambda m: min(m)):
        first = contexts[min(members)]
        did = f"ecd-{first[0]}-L{first[1]:04d}"
        # The session is the longest context; other contexts add customer turns it lacks
        # (kept in the message list, not in the ordered session).
        longest = max((contexts[m][2] for m in members), key=len)
        turns: List[str] = []
        for m in sorted(members, key=lambda m: -len(contexts[m][2])):
            ctx = contexts[m][2]
            for k in range(len(ctx) - 1, -1, -2):
                if ctx[k] not in turns:
                    turns.append(ctx[k])
        session = [longest[k] for k in range(len(longest) - 1, -1, -2)][::-1]
        rest = [t for t in turns if t not in session]
        dialogues.append(
            {
                "dialogue": did,
                "source": "ecd",
                "session": session,
                "extra": rest,
                "lines": sorted(f"{contexts[m][0]}:{contexts[m][1]}" for m in members),
            }
        )
    return dialogues


# --------------------------------------------------------------------------- NTCIR-14 STC-3 (Weibo)

# Dialogues about telecom tariffs, travel bookings and apps are not shop topics; dialogues
# addressed to phone makers (product quality, repair, usage) and shops are kept.
STC3_OFF_TOPIC = re.compile(
    r"联通|电信|移动|去哪儿|携程|艺龙|搜狗|输入法|91手机|音悦|航班|机票|酒店|话费|流量|宽带|套餐"
)
STC3_SHOP = re.compile(
    r"快递|物流|发货|退款|退货|换货|订单|售后|维修|返修|保修|质量|坏|到货|签收|"
    r"买的|购买|下单|付款|屏幕|电池|充电|死机|发票|赔|投诉|差评|预约|抢购|优惠|价格|客服"
)


def stc3_dialogues(git_dir: str) -> List[Dict]:
    return stc3_select(json.loads(git_show(git_dir, "data/test_data_cn.json").decode("utf-8")))


def stc3_select(data: List[Dict]) -> List[Dict]:
    """The shop-topic dialogues of an STC-3 file, customer turns only, private @handles masked."""
    # @handles seen in several dialogues are companies' accounts (public); others are people.
    handle_count: Counter = Counter()
    for d in data:
        for t in d["turns"]:
            for u in t["utterances"]:
                handle_count.update(set(re.findall(r"@([^\s@:：,，。]+)", u)))
    public = {
        h
        for h, n in handle_count.items()
        if n >= 2 or re.search(r"客服|官方|科技|手机|助手|小D|小u", h)
    }
    out = []
    for d in data:
        turns = []
        for t in d["turns"]:
            if t["sender"] != "customer":
                continue
            text = clean(" ".join(u for u in t["utterances"] if u.strip()))
            text = re.sub(
                r"@([^\s@:：,，。]+)",
                lambda m: m.group(0) if m.group(1) in public else "@某用户",
                text,
            )
            if text:
                turns.append(text)
        joined = " ".join(turns)
        if (
            not turns
            or STC3_OFF_TOPIC.search(joined)
            and not re.search(r"快递|退款|退货|订单|发货", joined)
        ):
            continue
        if not STC3_SHOP.search(joined):
            continue
        out.append({"dialogue": f"stc3-{d['id']}", "source": "stc3", "session": turns, "extra": []})
    return out


# --------------------------------------------------------------------------- reviews


def reviews_online_shopping(git_dir: str, per_cell: int) -> List[Dict]:
    raw = git_show(git_dir, "datasets/online_shopping_10_cats/online_shopping_10_cats.zip")
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        text = z.read("online_shopping_10_cats.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    rng = random.Random(SEED)
    out = []
    cells: Dict[Tuple[str, str], List[int]] = {}
    for i, r in enumerate(rows):
        review = clean(r.get("review") or "")
        # 酒店 reviews are not about a shop; chat-length messages only (6..150 characters).
        if r["cat"] == "酒店" or not 6 <= len(review) <= 150:
            continue
        cells.setdefault((r["cat"], r["label"]), []).append(i)
    for key in sorted(cells):
        for i in sorted(rng.sample(cells[key], per_cell)):
            out.append(
                {
                    "dialogue": f"os10-{i + 2}",
                    "source": "online_shopping_10_cats",
                    "session": [clean(rows[i]["review"])],
                    "extra": [],
                    "meta": {"cat": rows[i]["cat"]},
                }
            )
    return out


def reviews_waimai(git_dir: str, pos: int, neg: int) -> List[Dict]:
    rows = list(
        csv.DictReader(
            io.StringIO(git_show(git_dir, "datasets/waimai_10k/waimai_10k.csv").decode("utf-8-sig"))
        )
    )
    rng = random.Random(SEED)
    out = []
    for label, n in (("1", pos), ("0", neg)):
        idx = [
            i
            for i, r in enumerate(rows)
            if r["label"] == label and 6 <= len(clean(r["review"])) <= 150
        ]
        for i in sorted(rng.sample(idx, n)):
            out.append(
                {
                    "dialogue": f"waimai-{i + 2}",
                    "source": "waimai_10k",
                    "session": [clean(rows[i]["review"])],
                    "extra": [],
                }
            )
    return out


def reviews_eprstmt(git_dir: str, n: int) -> List[Dict]:
    rows = [
        json.loads(line)
        for line in git_show(git_dir, "datasets/eprstmt/test_public.json")
        .decode("utf-8")
        .splitlines()
        if line.strip()
    ]
    rng = random.Random(SEED)
    rows = [r for r in rows if 6 <= len(clean(r["sentence"])) <= 150]
    out = []
    for r in sorted(rng.sample(rows, n), key=lambda r: r["id"]):
        out.append(
            {
                "dialogue": f"eprstmt-{r['id']}",
                "source": "eprstmt",
                "session": [clean(r["sentence"])],
                "extra": [],
            }
        )
    return out


# --------------------------------------------------------------------------- output


def write(out_dir: Path, dialogues: Iterable[Dict], provenance: Dict[str, Dict]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    seen_ids = set()
    n = 0
    with (
        open(out_dir / "candidates.jsonl", "w", encoding="utf-8") as msgs,
        open(out_dir / "dialogues.jsonl", "w", encoding="utf-8") as dlg,
    ):
        for d in dialogues:
            session = [mask_personal(t) for t in d["session"]]
            extra = [mask_personal(t) for t in d["extra"]]
            turn_ids = []
            for k, text in enumerate(session + extra, start=1):
                mid = f"{d['dialogue']}-c{k}" if len(session) + len(extra) > 1 else d["dialogue"]
                assert mid not in seen_ids, mid
                seen_ids.add(mid)
                turn_ids.append(mid)
                rec = {
                    "id": mid,
                    "source": d["source"],
                    "dialogue": d["dialogue"],
                    "turn": k,
                    "in_session": k <= len(session),
                    "text": text,
                }
                msgs.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
            if len(session) > 1:
                dlg.write(
                    json.dumps(
                        {
                            "dialogue": d["dialogue"],
                            "source": d["source"],
                            "turns": [
                                {"id": i, "text": t}
                                for i, t in zip(turn_ids[: len(session)], session, strict=True)
                            ],
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
    (out_dir / "provenance.json").write_text(
        json.dumps(provenance, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(f"wrote {n} messages to {out_dir / 'candidates.jsonl'}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--ecd", required=True, help="git dir of cooelf/DeepUtteranceAggregation")
    ap.add_argument("--stc3", required=True, help="git dir of SeanCherngTW/NTCIR-STC3-NDDQsubtask")
    ap.add_argument("--chinesenlp", required=True, help="git dir of cyy0523xc/ChineseNlpCorpus")
    ap.add_argument("--fewclue", required=True, help="git dir of CLUEbenchmark/FewCLUE")
    ap.add_argument("--out", default="data/real")
    args = ap.parse_args()
    ecd = ecd_dialogues(args.ecd)
    stc3 = stc3_dialogues(args.stc3)
    os10 = reviews_online_shopping(args.chinesenlp, per_cell=7)
    waimai = reviews_waimai(args.chinesenlp, pos=20, neg=40)
    epr = reviews_eprstmt(args.fewclue, 80)
    provenance = {
        "ecd": {
            "repo": "cooelf/DeepUtteranceAggregation",
            "commit": git_head(args.ecd),
            "paths": ["ECD_sample/test", "ECD_sample/train"],
        },
        "stc3": {
            "repo": "SeanCherngTW/NTCIR-STC3-NDDQsubtask",
            "commit": git_head(args.stc3),
            "paths": ["data/test_data_cn.json"],
        },
        "online_shopping_10_cats": {
            "repo": "cyy0523xc/ChineseNlpCorpus",
            "commit": git_head(args.chinesenlp),
            "paths": ["datasets/online_shopping_10_cats/online_shopping_10_cats.zip"],
        },
        "waimai_10k": {
            "repo": "cyy0523xc/ChineseNlpCorpus",
            "commit": git_head(args.chinesenlp),
            "paths": ["datasets/waimai_10k/waimai_10k.csv"],
        },
        "eprstmt": {
            "repo": "CLUEbenchmark/FewCLUE",
            "commit": git_head(args.fewclue),
            "paths": ["datasets/eprstmt/test_public.json"],
        },
    }
    write(Path(args.out), ecd + stc3 + os10 + waimai + epr, provenance)
    for name, ds in (
        ("ecd", ecd),
        ("stc3", stc3),
        ("os10", os10),
        ("waimai", waimai),
        ("eprstmt", epr),
    ):
        print(
            f"{name}: {len(ds)} dialogues, "
            f"{sum(len(d['session']) + len(d['extra']) for d in ds)} messages"
        )


if __name__ == "__main__":
    main()
