"""`python -m compliance lint`: fixture files with known lines, and the real project."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from compliance.__main__ import main as cli_main
from compliance.lint import PROJECT_ROOT, default_targets, lint_files
from compliance.lint import main as lint_main

DOMAIN = """\
version: "3.1"
intents:
  - greet
responses:
  utter_greet:
    - text: "亲,您好!最晚明天发货哦"
  utter_best:
    - text: "这是我们最好的面霜"
      buttons:
        - title: "全网第一"
          payload: "/affirm"
        - title: "看看别的"
          payload: "/deny"
  utter_block:
    - text: |
        第一行没问题
        这款能治疗失眠
  utter_folded:
    - text: >-
        亲,本店商品
        100%有效
"""

FAQ = """\
version: "3.1"
nlu:
- intent: faq/diet
  examples: |
    - 减肥期间能吃吗
    - 是最好的吗
responses:
  utter_faq/diet:
  - text: "亲,我们的零食不宣传功效哦。"
  utter_faq/best:
  - text: "亲,这款是销量第一的爆款,
      也是最新款哦"
"""

KNOWLEDGE_YML = """\
title: 羽绒服保养
sections:
  - heading: 清洗
    body: 建议干洗,顶级面料请勿机洗
  - heading: 收纳
    body: 最近天气潮湿,注意防潮
"""

KNOWLEDGE_MD = """\
# 充电宝使用说明

最大输出22.5W,支持PD快充。

这是市面上最安全的充电宝。
"""

TEMPLATE_HTML = """\
<html>
<head><style>.x { content: "最好的"; }</style></head>
<!-- 备注:最好的 -->
<body><p class="最好">您好,<b>第一时间</b>为您处理</p>
<p>本店商品绝对正品</p></body>
</html>
"""

ACTION_PY = '''\
"""Module docstring: 最好的 is not sent to customers."""

import logging
import re

logger = logging.getLogger(__name__)
PATTERN = re.compile(r"(最好|第一)")


def reply(day: str) -> str:
    """这里的第一也不会发出去。"""
    logger.info("最好的日志")
    if day:
        return f"最快{day}发货,有问题第一时间联系我们"
    return ("亲,我们会尽快处理,"
            "这款是国家级品质哦")


BUTTONS = {"best": "最受欢迎"}
'''


def write(root: Path, relative: str, content: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(tmp_path, "domain.yml", DOMAIN)
    write(tmp_path, "data/nlu/faq.yml", FAQ)
    write(tmp_path, "data/emotion/train.yml", "emotions:\n  - examples: 最好的客服\n")
    write(tmp_path, "knowledge/down_care.yml", KNOWLEDGE_YML)
    write(tmp_path, "knowledge/power_bank.md", KNOWLEDGE_MD)
    write(tmp_path, "actions/templates/reply.html", TEMPLATE_HTML)
    write(tmp_path, "actions/reply.py", ACTION_PY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(paths: List[str]) -> Tuple[int, List[str], str]:
    out, err = io.StringIO(), io.StringIO()
    code = lint_main(paths, out=out, err=err)
    return code, out.getvalue().splitlines(), err.getvalue()


def test_domain_responses_texts_and_buttons(project: Path) -> None:
    code, lines, err = run(["domain.yml"])
    assert code == 1
    assert lines == [
        "domain.yml:8: [abs.best_rewrite] 最好的 — 这是我们最好的面霜",
        "domain.yml:10: [abs.ranking_first] 全网第一 — 全网第一",
        "domain.yml:17: [med.treatment] 治疗 — 第一行没问题 这款能治疗失眠",
        "domain.yml:21: [abs.hundred_percent] 100% — 亲,本店商品 100%有效",
    ]
    assert "4 problem(s)" in err


def test_faq_responses_checked_and_nlu_examples_skipped(project: Path) -> None:
    code, lines, _ = run(["data"])
    assert code == 1
    assert lines == [
        "data/nlu/faq.yml:11: [abs.ranking_first] 销量第一 — 亲,这款是销量第一的爆款, 也是最新款哦",
        "data/nlu/faq.yml:12: [abs.newest_model] 最新款 — …是销量第一的爆款, 也是最新款哦",
    ]


def test_knowledge_yaml_and_markdown(project: Path) -> None:
    code, lines, _ = run(["knowledge"])
    assert code == 1
    assert lines == [
        "knowledge/down_care.yml:4: [abs.top_grade] 顶级 — 建议干洗,顶级面料请勿机洗",
        "knowledge/power_bank.md:5: [abs.most] 最 — …持PD快充。 这是市面上最安全的充电宝。",
    ]


def test_html_template_ignores_tags_styles_and_comments(project: Path) -> None:
    code, lines, _ = run(["actions/templates/reply.html"])
    assert code == 1
    assert lines == [
        "actions/templates/reply.html:5: [abs.absolutely] 绝对 — …时间 为您处理 本店商品绝对正品",
    ]


def test_python_strings_skip_docstrings_regexes_and_logs(project: Path) -> None:
    code, lines, _ = run(["actions/reply.py"])
    assert code == 1
    assert lines == [
        # "{}" stands for the f-string value, so 最快 is not known to precede a date: the
        # lint is stricter than the runtime guard, which sees the real text.
        "actions/reply.py:14: [abs.most] 最 — 最快{}发货,有问题第一时…",
        "actions/reply.py:16: [abs.national_world_level] 国家级 — "
        "…,我们会尽快处理,这款是国家级品质哦",
        "actions/reply.py:19: [abs.most_popular] 最受欢迎 — 最受欢迎",
    ]


def test_repeated_term_in_one_text_gets_each_line(project: Path) -> None:
    write(project, "repeat.yml", """\
responses:
  utter_repeat:
    - text: |
        最好的面霜
        还有最好的乳液
        以及最好的精华
""")
    code, lines, _ = run(["repeat.yml"])
    assert code == 1
    assert [line.split(" — ")[0] for line in lines] == [
        "repeat.yml:4: [abs.best_rewrite] 最好的",
        "repeat.yml:5: [abs.best_rewrite] 最好的",
        "repeat.yml:6: [abs.best_rewrite] 最好的",
    ]


def test_non_rasa_yaml_outside_knowledge_is_not_free_text(project: Path) -> None:
    # Customer examples (emotion data) must not be linted as if the bot said them.
    assert run(["data/emotion/train.yml"])[:2] == (0, [])
    write(project, "knowledge/emotion_like.yml", "emotions:\n  - examples: 最好的客服\n")
    assert run(["knowledge/emotion_like.yml"])[0] == 1


def test_default_targets_cover_the_project_layout(project: Path) -> None:
    found = {str(path.relative_to(project)) for path in default_targets(project)}
    assert found == {
        "domain.yml", "data/nlu/faq.yml", "data/emotion/train.yml",
        "knowledge/down_care.yml", "knowledge/power_bank.md",
        "actions/reply.py", "actions/templates/reply.html",
    }
    findings, count = lint_files(sorted(default_targets(project)))
    # Non-Rasa YAML under data/ (emotion examples) is what customers say: not checked.
    assert not any("emotion" in finding.path for finding in findings)
    assert len(findings) == 12 and count > 10


def test_clean_file_exits_zero(project: Path) -> None:
    write(project, "clean.yml", 'responses:\n  utter_ok:\n    - text: "好的亲,最晚明天发货"\n')
    code, lines, err = run(["clean.yml"])
    assert (code, lines) == (0, [])
    assert "no problems" in err


def test_unreadable_inputs_exit_two(project: Path) -> None:
    write(project, "broken.yml", "responses: [\n")
    assert run(["broken.yml"])[0] == 2
    assert run(["missing.yml"])[0] == 2
    write(project, "broken.py", "def f(:\n")
    assert run(["broken.py"])[0] == 2


def test_custom_rules_file(project: Path, capsys: pytest.CaptureFixture) -> None:
    write(project, "rules.yml", """\
version: 1
fallback: 请稍等
rule_categories: [广告法极限词]
rules:
  - {id: shop.cheap, category: 广告法极限词, terms: [便宜], action: block}
""")
    write(project, "t.yml", 'responses:\n  utter_x:\n    - text: "最好的,很便宜"\n')
    assert cli_main(["lint", "t.yml", "--rules", "rules.yml"]) == 1
    assert capsys.readouterr().out.splitlines() == ["t.yml:3: [shop.cheap] 便宜 — 最好的,很便宜"]
    write(project, "bad_rules.yml", "version: 1\nrules: []\n")
    assert cli_main(["lint", "t.yml", "--rules", "bad_rules.yml"]) == 2
    assert "bad_rules.yml" in capsys.readouterr().err


def test_check_command(capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["check", "这是最好的面霜"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "rewritten: 这是很受欢迎的面霜"
    assert cli_main(["check", "这款面霜能美白", "--category", "cosmetics"]) == 1
    assert "[cosmetics.special_use] 美白" in capsys.readouterr().out


def test_real_project_texts_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_ROOT)
    code, lines, err = run([])
    assert code == 0, "\n".join(lines)
    assert "no problems" in err


def test_module_entry_point_on_real_project() -> None:
    result = subprocess.run([sys.executable, "-m", "compliance", "lint"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
