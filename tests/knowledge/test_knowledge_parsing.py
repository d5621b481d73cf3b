"""HTML and Markdown parsing, and the passages cut from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.config import DEFAULT_DOCS
from knowledge.documents import (
    DocumentError,
    ParsedDocument,
    parse_document,
    parse_html,
    parse_markdown,
)
from knowledge.passages import MAX_CHARS, pack, passages

PRODUCT_PAGE = """<!DOCTYPE html>
<html><head>
  <meta charset="utf-8"><meta name="product_id" content="P5001">
  <title>悦家 5L空气炸锅 - 悦家旗舰店</title>
  <style>.x { color: red }</style>
  <script>var tip = "加入购物车立减";</script>
</head><body>
  <nav><a href="/">店铺首页</a></nav>
  <header>全场包邮横幅</header>
  <h1>悦家 5L空气炸锅</h1>
  <p>5L大容量,
     可视窗口。</p>
  <!-- 内部备注:不要对外 -->
  <h2>安装步骤</h2>
  <ol><li>撕掉<strong>保护膜</strong>。</li><li>放在平稳台面上。</li></ol>
  <h2>常见问题</h2>
  <h3>涂层耐刮吗?</h3>
  <div><p>请勿使用钢丝球。</p></div>
  <dl><dt>能放洗碗机吗?</dt><dd>内胆可以放洗碗机。</dd></dl>
  <h2>商品参数</h2>
  <table><tr><th>容量</th><td>5L</td></tr><tr><th>功率</th><td>1450W</td></tr></table>
  <p hidden>隐藏的文字</p>
  <p>第一行<br>第二行</p>
  <footer>© 悦家旗舰店 <script>track()</script></footer>
</body></html>
"""


def texts(document: ParsedDocument) -> dict:
    return {section.headings: section.paragraphs for section in document.sections}


def test_html_keeps_content_under_its_heading_path_and_drops_page_furniture() -> None:
    document = parse_html(PRODUCT_PAGE)

    assert document.title == "悦家 5L空气炸锅"  # the h1, not the <title> with the shop name
    assert document.product_id == "P5001"
    assert texts(document) == {
        (): ["5L大容量,可视窗口。"],
        ("安装步骤",): ["1. 撕掉保护膜。", "2. 放在平稳台面上。"],
        ("常见问题",): [],
        ("常见问题", "涂层耐刮吗?"): ["请勿使用钢丝球。"],
        ("常见问题", "涂层耐刮吗?", "能放洗碗机吗?"): ["内胆可以放洗碗机。"],
        ("商品参数",): ["容量:5L", "功率:1450W", "第一行", "第二行"],
    }
    everything = repr(document)
    for dropped in ("店铺首页", "包邮横幅", "加入购物车", "内部备注", "隐藏",
                    "color", "track", "©"):
        assert dropped not in everything


def test_html_title_falls_back_to_title_tag_then_file_name() -> None:
    assert parse_html("<title>退货须知</title><p>七天内可退。</p>").title == "退货须知"
    assert parse_html("<p>七天内可退。</p>", default_title="returns").title == "returns"
    assert parse_html("<p>x</p>").product_id is None


def test_html_table_with_header_row_names_each_cell() -> None:
    document = parse_html("<h2>处理</h2><table><tr><th>问题</th><th>运费</th></tr>"
                          "<tr><td>发错货</td><td>我们承担</td></tr></table>")
    assert texts(document)[("处理",)] == ["问题:发错货;运费:我们承担"]


def test_broken_html_is_read_leniently() -> None:
    # Unclosed tags: the heading swallows the rest; its own text is still the heading.
    document = parse_html("<h2>清洁<p>用软布擦拭<li>不要泡水")
    assert texts(document) == {(): [], ("清洁",): ["用软布擦拭", "不要泡水"]}
    document = parse_html("<div><p>未闭合的段落<b>加粗")
    assert texts(document) == {(): ["未闭合的段落加粗"]}


MARKDOWN = """---
title: 保修政策
product_id: P5002
---

# 保修政策

## 保修范围

数码和家电
保修1年。**人为损坏**不保修,详见[说明](https://example.com)。

- 第一项
- 第二项
  接着写

1. 联系客服
2. 寄回售后仓

| 商品 | 期限 |
| --- | --- |
| 电饭煲 | 1年 |

```
按住 开关 3秒
```

### 细则
> 以订单记录为准
"""


def test_markdown_front_matter_headings_lists_tables_and_inline_markup() -> None:
    document = parse_markdown(MARKDOWN)

    assert document.title == "保修政策"
    assert document.product_id == "P5002"
    assert texts(document) == {
        (): [],
        ("保修范围",): [
            "数码和家电保修1年。人为损坏不保修,详见说明。",
            "第一项", "第二项接着写",
            "1. 联系客服", "2. 寄回售后仓",
            "商品:电饭煲;期限:1年",
            "按住 开关 3秒",
        ],
        ("保修范围", "细则"): ["以订单记录为准"],
    }


def test_markdown_without_front_matter_takes_the_first_h1_as_title() -> None:
    document = parse_markdown("# 发票说明\n\n可以开专票。\n", default_title="invoice")
    assert (document.title, document.product_id) == ("发票说明", None)
    assert texts(document) == {(): ["可以开专票。"]}
    assert parse_markdown("没有标题的说明。", default_title="sop").title == "sop"


def test_markdown_with_broken_front_matter_is_an_error() -> None:
    with pytest.raises(DocumentError, match="front matter"):
        parse_markdown("---\ntitle: [unclosed\n---\n正文")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("a.html", b"", "empty file"),
    ("a.md", b"  \n\n", "empty file"),
    ("a.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary file"),
    ("a.md", "保修一年".encode("gbk"), "not UTF-8"),
    ("a.html", b"<html><script>x()</script><nav>menu</nav></html>", "no text found"),
    ("a.pdf", b"%PDF-1.4 text", "unsupported file type"),
])
def test_unusable_files_raise_a_clear_error(name: str, content: bytes, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        parse_document(Path(name), content)


def test_utf8_with_bom_is_fine() -> None:
    document = parse_document(Path("a.md"), "\ufeff# 标题\n\n正文。".encode())
    assert document.title == "标题"


# ---------------------------------------------------------------------- passages


def test_passages_carry_title_path_and_source_heading() -> None:
    found = passages(parse_html(PRODUCT_PAGE), "docs/air.html")

    assert [(p.title, p.source) for p in found] == [
        ("悦家 5L空气炸锅", "docs/air.html"),
        ("悦家 5L空气炸锅 > 安装步骤", "docs/air.html#安装步骤"),
        ("悦家 5L空气炸锅 > 常见问题 > 涂层耐刮吗?", "docs/air.html#涂层耐刮吗?"),
        ("悦家 5L空气炸锅 > 常见问题 > 涂层耐刮吗? > 能放洗碗机吗?", "docs/air.html#能放洗碗机吗?"),
        ("悦家 5L空气炸锅 > 商品参数", "docs/air.html#商品参数"),
    ]
    assert found[1].text == "1. 撕掉保护膜。\n2. 放在平稳台面上。"
    assert [p.ordinal for p in found] == list(range(len(found)))


def test_pack_joins_short_paragraphs_and_splits_long_ones_at_sentence_ends() -> None:
    assert list(pack(["一。", "二。"], 10)) == ["一。\n二。"]
    assert list(pack(["一二三四。", "五六七八。"], 8)) == ["一二三四。", "五六七八。"]
    # A paragraph over the limit: whole sentences while they fit.
    assert list(pack(["甲乙丙。丁戊己。庚辛。"], 8)) == ["甲乙丙。丁戊己。", "庚辛。"]
    # A sentence longer than a passage is cut hard.
    assert list(pack(["一二三四五六七八九十"], 4)) == ["一二三四", "五六七八", "九十"]


def test_every_sample_passage_is_at_most_max_chars() -> None:
    for path in DEFAULT_DOCS.rglob("*.*"):
        for passage in passages(parse_document(path, path.read_bytes()), path.name):
            assert 0 < len(passage.text) <= MAX_CHARS, passage


def test_markdown_setext_headings_and_escaped_pipes_read_as_a_renderer_shows_them() -> None:
    document = parse_markdown(
        "退换货说明\n=====\n\n运费\n----\n\n质量问题运费由我们承担。\n\n"
        "| 情况 | 说明 |\n| --- | --- |\n| 尺码 A\\|B | 可以换 |\n"
    )
    assert document.title == "退换货说明"
    assert texts(document) == {
        (): [],
        ("运费",): ["质量问题运费由我们承担。", "情况:尺码 A|B;说明:可以换"],
    }
