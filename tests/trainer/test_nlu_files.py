"""Appending labelled examples to a copy of the project's hand-edited YAML."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
import yaml

from trainer.examples import training_example
from trainer.nlu_files import NEW_INTENTS_FILE, LabelError, append_examples, load_catalogue

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "data", tmp_path / "data")
    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    return tmp_path


def added_lines(before: str, after: str) -> list:
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert not [line for line in diff if line.startswith("- ")], "a line was changed or removed"
    return [line[2:] for line in diff if line.startswith("+ ")]


def test_examples_go_to_the_file_holding_the_intent_and_nothing_else_changes(project):
    catalogue = load_catalogue(project)
    path = catalogue.files["report_quality_issue"][0]
    before = path.read_text(encoding="utf-8")
    change = append_examples(project, "report_quality_issue",
                             ["拉链卡住拉不动了", "拉链卡住拉不动了!"])
    after = path.read_text(encoding="utf-8")
    # One example (the second is the same message), indented like its neighbours,
    # inside the intent's own block.
    assert added_lines(before, after) == ["    - 拉链卡住拉不动了"]
    assert change.files == [path] and change.added == ["拉链卡住拉不动了"]
    block = next(b for b in yaml.safe_load(after)["nlu"]
                 if b.get("intent") == "report_quality_issue")
    assert "- 拉链卡住拉不动了" in block["examples"]
    change.revert()
    assert path.read_text(encoding="utf-8") == before


def test_comments_and_order_survive(project):
    path = project / "data" / "nlu" / "orders.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("- intent: track_logistics",
                                 "# trainers: logistics wording from the live chat\n"
                                 "- intent: track_logistics  # keep first"), encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    append_examples(project, "track_logistics", ["包裹咋还在路上飘着"])
    after = path.read_text(encoding="utf-8")
    assert added_lines(before, after) == ["    - 包裹咋还在路上飘着"]
    assert "# trainers: logistics wording from the live chat" in after
    assert after.index("- intent: track_logistics") > after.index("- intent: query_order_status")


def test_retrieval_topic_and_entities(project):
    change = append_examples(project, "faq/ship_from", ["你家仓库在哪个省"])
    assert change.files == [project / "data" / "nlu" / "faq.yml"]
    example = training_example("订单361204587712340001麻烦查一下",
                               [{"entity": "order_id", "start": 2, "end": 20,
                                 "value": "361204587712340001", "extractor": "DIETClassifier"}])
    assert example.startswith("订单[") and example.endswith("](order_id)麻烦查一下")
    assert "361204587712340001" not in example
    assert len(example) == len("订单[](order_id)麻烦查一下") + 18


def test_duplicates_and_conflicts_are_skipped(project):
    existing = "我的订单怎么样了"  # in data/nlu/orders.yml as query_order_status
    same = append_examples(project, "query_order_status", [existing])
    assert same.added == [] and same.skipped == [(existing, "训练数据里已有")]
    other = append_examples(project, "track_logistics", [existing + "?"])
    assert other.added == [] and other.skipped[0][1] == "训练数据里已标为 query_order_status"


def test_a_new_intent_gets_its_own_file_and_a_domain_line(project):
    domain_before = (project / "domain.yml").read_text(encoding="utf-8")
    change = append_examples(project, "ask_gift_wrap", ["能包装成礼物吗", "送人的能帮忙包一下吗"],
                             new=True)
    new_file = project / "data" / "nlu" / NEW_INTENTS_FILE
    content = yaml.safe_load(new_file.read_text(encoding="utf-8"))
    assert content["nlu"] == [{"intent": "ask_gift_wrap",
                               "examples": "- 能包装成礼物吗\n- 送人的能帮忙包一下吗\n"}]
    domain_after = (project / "domain.yml").read_text(encoding="utf-8")
    assert added_lines(domain_before, domain_after) == ["  - ask_gift_wrap  # added by the trainer"]
    assert "ask_gift_wrap" in load_catalogue(project).intents
    # A second batch for the same new intent is now an ordinary append.
    append_examples(project, "ask_gift_wrap", ["能帮我包成生日礼物的样子吗"])
    assert "- 能帮我包成生日礼物的样子吗" in new_file.read_text(encoding="utf-8")
    change.revert()
    assert (project / "domain.yml").read_text(encoding="utf-8") == domain_before


@pytest.mark.parametrize(("intent", "new", "message"), [
    ("no_such_intent", False, "没有这个意图"),
    ("nlu_fallback", False, "没有这个意图"),
    ("track_logistics", True, "已经存在"),
    ("Bad Name", True, "小写英文字母"),
    ("faq/new_topic", False, "没有这个意图"),
])
def test_bad_labels_are_refused_with_a_reason(project, intent, new, message):
    with pytest.raises(LabelError, match=message):
        append_examples(project, intent, ["随便一句话"], new=new)


def test_examples_never_go_to_the_real_message_files(project):
    """Their blocks are marked `metadata: {entities: unannotated}` (the entity extractor
    skips them, scripts/real_data rewrites them): a labelled example goes to a topic file,
    or to a block of its own when only marked files hold the intent."""
    catalogue = load_catalogue(project)
    for intent in ("complain", "rate_service"):
        marked = [path for path in catalogue.files[intent]
                  if path not in catalogue.annotated_files.get(intent, [])]
        # The first file holding the intent is a real-message file (alphabetical order).
        assert catalogue.files[intent][0] in marked and \
            marked[0].name.startswith("real_customers"), catalogue.files[intent]
        before = {path: path.read_text(encoding="utf-8") for path in marked}
        change = append_examples(project, intent, [f"训练师标注的{intent}样例"])
        assert change.files and change.files[0].name != marked[0].name
        assert all(path.read_text(encoding="utf-8") == text for path, text in before.items())

    domain = (project / "domain.yml").read_text(encoding="utf-8")
    (project / "data" / "nlu" / "real_only.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: marked_only\n  metadata: {entities: unannotated}\n'
        "  examples: |\n    - 只有真实消息里有的意图\n", encoding="utf-8")
    change = append_examples(project, "marked_only", ["训练师补的一条"])
    assert [path.name for path in change.files] == [NEW_INTENTS_FILE]
    blocks = yaml.safe_load(change.files[0].read_text(encoding="utf-8"))["nlu"]
    assert {"intent": "marked_only", "examples": "- 训练师补的一条\n"} in blocks
    assert (project / "domain.yml").read_text(encoding="utf-8") == domain
