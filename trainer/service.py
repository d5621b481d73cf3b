"""What the command and the HTTP API do: review, label, dismiss, export a story."""

from __future__ import annotations

import fcntl
import hashlib
import re
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from privacy import mask_personal
from trainer.config import Settings
from trainer.examples import training_example
from trainer.grouping import group
from trainer.nlu_files import Catalogue, LabelError, append_examples, load_catalogue
from trainer.source import REASONS, Candidate, TrackerSource
from trainer.store import ReviewStore
from trainer.stories import session_events, story_yaml, valid_name

# Chinese names for the picker (the catalogue in PRODUCT.md); other intents show as is.
INTENT_LABELS = {
    "greet": "打招呼", "goodbye": "告别", "thank": "感谢", "affirm": "肯定", "deny": "否定",
    "inform": "提供信息(订单号/尾号/尺码…)", "query_order_status": "查订单状态",
    "track_logistics": "查物流", "ask_shipping_time": "问发货时间", "urge_delivery": "催发货",
    "change_address": "修改地址", "cancel_order": "取消订单", "request_return": "退货",
    "request_refund": "退款", "request_exchange": "换货", "query_refund_progress": "退款进度",
    "report_quality_issue": "质量问题", "ask_size": "尺码咨询", "product_question": "商品咨询",
    "ask_usage": "使用方法", "ask_promotion": "优惠活动", "ask_invoice": "开发票",
    "wholesale_inquiry": "批发采购", "request_human": "转人工", "complain": "投诉",
    "rate_service": "评价", "out_of_scope": "无关话题",
}
VALIDATE_TIMEOUT = 300
ANSI = re.compile(r"\x1b\[[0-9;]*m")
_process_lock = threading.Lock()


@dataclass
class Validation:
    ok: bool
    seconds: float
    command: str
    summary: str
    warnings: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)


def intent_label(name: str) -> str:
    if name.startswith("faq/"):
        return f"常见问题: {name[4:]}"
    return INTENT_LABELS.get(name, name)


class Trainer:
    def __init__(self, settings: Optional[Settings] = None) -> None:
        self.settings = settings or Settings.from_env()
        self.source = TrackerSource(self.settings.tracker_store_url,
                                    self.settings.confidence_threshold,
                                    self.settings.window_days)
        self.store = ReviewStore(self.settings.trainer_db_url)

    @property
    def project(self) -> Path:
        return self.settings.project_dir

    # ---- review ---------------------------------------------------------------------
    def open_candidates(self) -> List[Candidate]:
        done = self.store.done()
        return [c for c in self.source.candidates() if c.key not in done]

    def review(self) -> Dict[str, Any]:
        candidates = self.open_candidates()
        groups = group(candidates, str(self.project / "jieba_dict"))
        out = []
        for index, found in enumerate(groups):
            out.append({
                "id": index + 1,
                "count": len(found.items),
                "sample": mask_personal(found.representative.text),
                "keywords": found.keywords,
                "hints": [{"intent": name, "label": intent_label(name), "confidence": score}
                          for name, score in found.hints],
                "reasons": [{"reason": reason, "label": REASONS[reason], "count": count}
                            for reason, count in sorted(found.reasons.items(),
                                                        key=lambda item: -item[1])],
                "conversations": found.conversations,
                "items": [self._item(item) for item in found.items],
            })
        return {"groups": out, "messages": len(candidates),
                "threshold": self.settings.confidence_threshold,
                "window_days": self.settings.window_days}

    def _item(self, item: Candidate) -> Dict[str, Any]:
        return {"key": item.key, "text": mask_personal(item.text),
                "example": training_example(item.text, item.entities),
                "sender_id": item.sender_id, "conversation": item.sender_id,
                "time": item.timestamp, "intent": item.intent,
                "confidence": round(item.confidence, 3),
                "ranking": [{"intent": n, "confidence": round(c, 3)} for n, c in item.ranking[:3]],
                "reasons": sorted(item.reasons)}

    def conversation(self, sender_id: str) -> List[Dict[str, Any]]:
        lines = self.source.transcript(sender_id)
        for line in lines:
            line["text"] = mask_personal(line["text"])
        return lines

    def catalogue(self) -> List[Dict[str, str]]:
        return [{"intent": name, "label": intent_label(name)}
                for name in load_catalogue(self.project).intents]

    # ---- label ----------------------------------------------------------------------
    def label(self, keys: List[str], intent: str, new: bool = False,
              texts: Optional[Dict[str, str]] = None, actor: str = "trainer") -> Dict[str, Any]:
        """Appends the messages as examples of `intent`, validates, reverts if invalid."""
        intent = (intent or "").strip()
        if not keys:
            raise LabelError("没有选择要标注的消息")
        wanted = set(keys)
        items = [c for c in self.open_candidates() if c.key in wanted]
        if not items:
            raise LabelError("这些消息已经处理过了,或者不在待审核列表里")
        texts = texts or {}
        examples = {item.key: (texts.get(item.key) or training_example(item.text, item.entities))
                    for item in items}
        with self._project_lock():
            catalogue: Catalogue = load_catalogue(self.project)
            change = append_examples(self.project, intent, list(examples.values()), new=new,
                                     catalogue=catalogue)
            validation = None
            if change.added:
                validation = self.validate(focus=[intent, *change.added])
                if not validation.ok:
                    change.revert()
        skipped = {example: why for example, why in change.skipped}
        ok = validation is None or validation.ok
        labelled: List[str] = []
        if ok:
            rows = []
            for item in items:
                example = examples[item.key]
                why = skipped.get(example)
                # An example already there under this intent is done; a conflicting one
                # stays in the list for the trainer to look at again.
                if why is not None and why != "训练数据里已有":
                    continue
                rows.append({"key": item.key, "intent": intent, "example": example,
                             "file": str(change.files[0].relative_to(self.project))
                             if change.files else None, "sender_id": item.sender_id})
                labelled.append(item.key)
            self.store.mark(rows, "labelled", actor)
        return {
            "ok": ok, "intent": intent, "new_intent": new, "labelled": labelled,
            "added": change.added if ok else [],
            "skipped": [{"example": e, "why": w} for e, w in change.skipped],
            "files": [str(p.relative_to(self.project)) for p in change.files] if ok else [],
            "reverted": not ok,
            "validation": asdict(validation) if validation else None,
        }

    def dismiss(self, keys: List[str], actor: str = "trainer") -> int:
        wanted = set(keys)
        items = [c for c in self.open_candidates() if c.key in wanted]
        return self.store.mark([{"key": c.key, "sender_id": c.sender_id} for c in items],
                               "dismissed", actor)

    # ---- stories --------------------------------------------------------------------
    def export_story(self, sender_id: str, name: Optional[str] = None,
                     message_key: Optional[str] = None, actor: str = "trainer",
                     validate: bool = True) -> Dict[str, Any]:
        events = self.source.conversation(sender_id)
        if not events:
            raise LabelError("没有这个会话")
        digest = hashlib.sha1(sender_id.encode()).hexdigest()[:8]
        name = valid_name(name or f"conversation-{digest}")
        session = session_events(events, message_key, sender_id)
        text = story_yaml(session, self.project / "domain.yml", name)
        folder = self.project / "tests" / "stories"
        path = folder / f"{name}.yml"
        if path.exists():
            raise LabelError(f"tests/stories/{name}.yml 已经存在,请换一个名字")
        with self._project_lock():
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text("# Exported from a real conversation by the trainer review; "
                            "personal data replaced.\n" + text, encoding="utf-8")
            validation = self.validate(focus=[name]) if validate else None
            if validation is not None and not validation.ok:
                path.unlink()
        ok = validation is None or validation.ok
        relative = str(path.relative_to(self.project))
        if ok:
            self.store.story_exported(sender_id, relative, actor)
        return {"ok": ok, "path": relative if ok else None, "story": text,
                "validation": asdict(validation) if validation else None}

    # ---- validation -----------------------------------------------------------------
    def validate(self, focus: Optional[List[str]] = None) -> Validation:
        """`rasa data validate` on the project (data, domain, config and tests/stories).
        Warnings that name what was just added are shown; the project's older warnings
        are not the trainer's concern here."""
        command = [self.settings.rasa_bin, "data", "validate", "--data", "data",
                   "tests/stories", "--domain", "domain.yml", "--config", "config.yml"]
        if not (self.project / "tests" / "stories").is_dir():
            command.remove("tests/stories")
        started = time.monotonic()
        try:
            done = subprocess.run(command, cwd=self.project, capture_output=True, text=True,
                                  timeout=VALIDATE_TIMEOUT)
            output, code = ANSI.sub("", done.stdout + done.stderr), done.returncode
        except subprocess.TimeoutExpired:
            output, code = f"rasa data validate 超过 {VALIDATE_TIMEOUT} 秒没有结束", -1
        except OSError as error:
            output, code = f"无法运行 rasa: {error}", -1
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        errors = [mask_personal(line) for line in lines
                  if re.search(r"\b(ERROR|Error|Exception|Traceback|InvalidDomain|YamlSyntax)",
                               line)]
        warnings = []
        for line in lines:
            if "UserWarning" in line or " WARNING " in line:
                message = line.split("UserWarning:", 1)[-1].strip()
                if not focus or any(term and term in message for term in focus):
                    warnings.append(mask_personal(message))
        ok = code == 0
        if ok:
            summary = "校验通过" + (f",有 {len(warnings)} 条相关警告" if warnings else "")
        else:
            summary = "校验失败,改动已撤销"
            if not errors:
                errors = [mask_personal(line) for line in lines[-15:]]
        return Validation(ok=ok, seconds=round(time.monotonic() - started, 1),
                          command="rasa " + " ".join(command[1:]), summary=summary,
                          warnings=list(dict.fromkeys(warnings)), errors=errors[-20:])

    @contextmanager
    def _project_lock(self) -> Iterator[None]:
        """One change at a time per project, across threads and processes."""
        digest = hashlib.sha1(str(self.project).encode()).hexdigest()[:12]
        path = Path(tempfile.gettempdir()) / f"trainer-{digest}.lock"
        with _process_lock, path.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
