"""Brand tone over every real text the assistant sends, plus tone-file validation."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml
from brand_texts import EMOJI_CHAR, NUMBERS, QUOTED, TONES, action_texts, domain_texts

from brand.tone import DEFAULT_TONE_PATH, Tone, apply, get_tone, load_tone
from compliance import ALL_CATEGORIES, get_checker
from service_common.config import ConfigError

DOMAIN = domain_texts()
ACTIONS = action_texts()
EVERY = DOMAIN + ACTIONS
BAD_PUNCTUATION = re.compile(r"[。!?;]{2}|[,,、][。!?;,,]|[,,、;]\s*$|^\s*[,,。!?;、]")


def tone(name: str, emoji: bool = True) -> Tone:
    return Tone.from_file(name=name, emoji=emoji)


def is_button(where: str) -> bool:
    return where.endswith(":button")


@pytest.mark.parametrize("emoji", [True, False], ids=["emoji-on", "emoji-off"])
@pytest.mark.parametrize("name", TONES)
def test_every_text_keeps_its_meaning_and_stays_clean(name: str, emoji: bool) -> None:
    checker = get_checker()
    style = tone(name, emoji)
    for where, text in EVERY:
        out = style.apply(text, title=is_button(where))
        label = f"{name}/{where}: {text!r} -> {out!r}"
        if not text.strip():  # a line break between parts (utter_separator_line) stays one
            assert out == text, label
            continue
        assert out.strip(), label
        assert NUMBERS.findall(out) == NUMBERS.findall(text), label
        assert QUOTED.findall(out) == QUOTED.findall(text), label
        if checker.check(text, ALL_CATEGORIES).allowed:
            assert checker.check(out, ALL_CATEGORIES).allowed, label
        if not emoji:
            assert not EMOJI_CHAR.search(out), label
        if out != text and "{" not in text:  # format templates are fragments
            assert not BAD_PUNCTUATION.search(out), label
        assert style.apply(out, title=is_button(where)) == out, f"not idempotent: {label}"


def test_warm_tone_is_the_domain_as_written() -> None:
    warm = tone("热情")
    assert warm.identity
    for where, text in EVERY:
        assert warm.apply(text, title=is_button(where)) == text, where


def test_professional_tone_is_formal() -> None:
    formal = tone("专业")
    for where, text in EVERY:
        out = formal.apply(text, title=is_button(where))
        label = f"{where}: {out!r}"
        # A bare "亲" is customer_title()'s fragment; composed ("亲您好,...") it goes.
        assert "亲" not in out or text == "亲", label
        assert not re.search(r"[哦哈呀啦][,。!?;~\s)]|[哦哈呀啦]$", out), label
        assert "~" not in out and "～" not in out, label
        assert not EMOJI_CHAR.search(out), label
        assert "你" not in out, label


def test_fresh_tone_is_light() -> None:
    fresh = tone("清新")
    for where, text in EVERY:
        out = fresh.apply(text, title=is_button(where))
        label = f"{where}: {out!r}"
        assert "您" not in out and "亲," not in out, label
        assert len(EMOJI_CHAR.findall(out)) <= 1, label
        assert not re.search(r"哦[,。!?;~\s]|哦$", out), label


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("专业", "亲,您好!我是店铺智能客服小蜜,有问题都可以直接跟我说哦~",
     "您好!我是店铺智能客服小蜜,有问题都可以直接跟我说。"),
    ("专业", "不客气亲,能帮到您就好~还有其他问题随时问我哦。",
     "不客气,能帮到您就好。还有其他问题随时问我。"),
    ("专业", "好的亲~", "好的。"),
    ("专业", "收到您的评价,谢谢亲的认可❤️ 有需要随时找我们~",
     "收到您的评价,谢谢您的认可。有需要随时找我们。"),
    ("专业", "包裹已经发出啦,系统里改不了地址了😥 您可以拨打客服热线",
     "包裹已经发出了,系统里改不了地址了。您可以拨打客服热线"),
    ("专业", "亲您好,欢迎回来~", "您好,欢迎回来。"),
    ("专业", "请问是哪个订单呢?", "请问是哪个订单?"),
    ("专业", "我们接着刚才的订单继续哈~", "我们接着刚才的订单继续。"),
    ("清新", "亲,您好!有问题都可以直接跟我说哦~", "你好!有问题都可以直接跟我说~"),
    ("清新", "这个问题小蜜暂时回答不了哦😅 有问题随时问我~",
     "这个问题小蜜暂时回答不了🙂 有问题随时问我~"),
    ("清新", "谢谢亲的认可❤️ 给您添麻烦了🙏", "谢谢你的认可😊 给你添麻烦了。"),
    ("热情", "给您添麻烦了🙏", "给您添麻烦了🙏"),
    # Addressed by title, the customer keeps 您 in every tone.
    ("清新", "王先生您好,欢迎回来~", "王先生您好,欢迎回来~"),
])
def test_examples(name: str, text: str, expected: str) -> None:
    assert tone(name).apply(text) == expected


def test_emoji_off_ends_the_sentence_where_the_emoji_did() -> None:
    plain = tone("热情", emoji=False)
    assert plain.apply("回答不了哦😅 我主要负责订单~") == "回答不了哦。我主要负责订单~"
    assert plain.apply("给您添麻烦了🙏") == "给您添麻烦了。"
    assert plain.apply("好的~👍") == "好的~"
    assert plain.apply("👋 在的") == "在的"
    assert plain.apply("满意👍", title=True) == "满意"


def test_meaning_bearing_spans_are_never_touched() -> None:
    formal, fresh = tone("专业", emoji=False), tone("清新")
    text = ("亲,订单361204587712340011(实付¥458.00)已由顺丰 SF1428837465021 发出哦~"
            "「您的专属礼盒~哦」【杭州转运中心】,邮箱 nin.hao@163.com,"
            "详见 https://shop.example.com/a?b=1~ ,热线400-820-1234,9:00-24:00在线哦。")
    for style in (formal, fresh):
        out = style.apply(text)
        for kept in ("361204587712340011", "¥458.00", "SF1428837465021", "「您的专属礼盒~哦」",
                     "【杭州转运中心】", "nin.hao@163.com", "https://shop.example.com/a?b=1~",
                     "400-820-1234", "9:00-24:00"):
            assert kept in out, (style, kept, out)


def test_words_that_only_look_like_address_or_particles_stay() -> None:
    formal = tone("专业")
    text = "母亲节礼物选这件毛呢大衣,面料是毛呢。亲肤面料,可以亲自试穿。"
    assert formal.apply(text) == text
    echoed = "新的收货信息:张哈 13800000000 浙江省杭州市西湖区文三路100号"
    assert formal.apply(echoed) == echoed


def test_button_titles_get_no_sentence_punctuation() -> None:
    formal = tone("专业")
    assert formal.apply("好的哦~", title=True) == "好的哦"
    assert formal.apply("361204587712340002 K87机械键盘 待发货", title=True) == \
        "361204587712340002 K87机械键盘 待发货"


def test_empty_and_private_use_texts_pass_unchanged() -> None:
    formal = tone("专业")
    assert formal.apply("") == ""
    assert formal.apply("亲\ue000哦~") == "亲\ue000哦~"


# ---------------------------------------------------------------------- settings


def test_environment_chooses_the_tone_and_emoji(monkeypatch, fresh_tone) -> None:
    monkeypatch.setenv("BRAND_TONE", "专业")
    monkeypatch.setenv("BRAND_EMOJI", "off")
    assert (get_tone().name, get_tone().emoji) == ("专业", False)
    assert apply("好的亲~") == "好的。"
    assert get_tone() is get_tone()  # loaded once


def test_file_defaults_are_warm_with_emoji(monkeypatch, fresh_tone) -> None:
    for name in ("BRAND_TONE", "BRAND_EMOJI", "BRAND_TONE_FILE"):
        monkeypatch.delenv(name, raising=False)
    default = get_tone()
    assert (default.name, default.emoji, default.identity) == ("热情", True, True)


def test_unknown_tone_in_environment_names_file_and_variable() -> None:
    with pytest.raises(ConfigError) as error:
        load_tone({"BRAND_TONE": "可爱"})
    assert str(DEFAULT_TONE_PATH) in str(error.value)
    assert "BRAND_TONE" in str(error.value) and "可爱" in str(error.value)


def test_bad_emoji_switch_in_environment() -> None:
    with pytest.raises(ConfigError, match="environment: BRAND_EMOJI: must be on or off"):
        load_tone({"BRAND_EMOJI": "maybe"})


def test_another_tone_file_from_environment(tmp_path: Path) -> None:
    data = shipped()
    data["tone"] = "清新"
    data["emoji"] = "off"
    path = tmp_path / "tone.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    loaded = load_tone({"BRAND_TONE_FILE": str(path)})
    assert (loaded.name, loaded.emoji, loaded.source) == ("清新", False, str(path))


def shipped() -> Dict[str, Any]:
    return yaml.safe_load(DEFAULT_TONE_PATH.read_text(encoding="utf-8"))


def broken(change) -> Dict[str, Any]:
    data = copy.deepcopy(shipped())
    change(data)
    return data


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(colour="red"), r"colour: unknown key"),
    (lambda d: d.pop("version"), "version: field required"),
    (lambda d: d.update(tone="可爱"), "tone: must be one of"),
    (lambda d: d.update(emoji="sometimes"), "emoji: must be on or off, not 'sometimes'"),
    (lambda d: d.update(tones={}), "tones: define at least one tone"),
    (lambda d: d["tones"]["专业"].update(adress="您"), r"tones.专业.adress: unknown key"),
    (lambda d: d["tones"]["专业"].update(address="阁下"), "tones.专业.address: unexpected value"),
    (lambda d: d["tones"]["专业"]["particles"].update({"的呢": ""}),
     "tones.专业.particles.的呢: a particle must be one Chinese character"),
    (lambda d: d["tones"]["专业"].update(particles=["哦"]),
     "tones.专业.particles: value is not a valid dict"),
    (lambda d: d["tones"]["专业"].update(max_emoji=-1), "tones.专业.max_emoji: ensure this value"),
    (lambda d: d["tones"]["专业"].update(max_emoji=True), "tones.专业.max_emoji: value is not"),
    (lambda d: d["tones"]["清新"]["emoji_map"].update({"笑": "🙂"}),
     "tones.清新.emoji_map.笑: '笑' -> '🙂': both must be one emoji"),
    (lambda d: d["tones"]["专业"]["phrases"].update({"拜拜": 88}),
     "tones.专业.phrases.拜拜: must be text"),
    (lambda d: d["tones"]["专业"].update(tilde=None), "tones.专业.tilde: none is not an allowed"),
])
def test_invalid_tone_file_is_rejected_with_its_name(change, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as error:
        Tone.from_dict(broken(change), source="brand/tone.yml")
    assert str(error.value).startswith("brand/tone.yml: ")


def test_unreadable_or_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"
    with pytest.raises(ConfigError, match=f"{missing}: cannot read"):
        Tone.from_file(missing)
    bad = tmp_path / "bad.yml"
    bad.write_text("tones: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{bad}:2: invalid YAML"):
        Tone.from_file(bad)


def test_unknown_tone_name_argument() -> None:
    with pytest.raises(ConfigError, match="unknown tone '可爱'; the file defines"):
        Tone.from_file(name="可爱")


def test_a_new_tone_needs_only_the_file() -> None:
    data = broken(lambda d: d["tones"].update(
        {"简洁": {"address": "您", "particles": {"哦": "", "呢": ""}, "tilde": "!",
                  "max_emoji": 0}}))
    terse = Tone.from_dict(data, name="简洁")
    assert terse.apply("好的亲~ 有问题随时问我哦😅") == "好的!有问题随时问我。"


def test_professional_tone_removes_emoji_but_keeps_symbols() -> None:
    """★ and ✓ are symbols a shop writes on purpose; keycaps and skin tones are emoji."""
    formal = tone("专业")
    out = formal.apply("好评率★★★★★,✓已发货,请按1️⃣选择👍🏻")
    assert "★★★★★" in out and "✓" in out
    assert "1️⃣" not in out and "👍" not in out and "\u20e3" not in out
    assert formal.apply("Apple™耳机") == "Apple™耳机"
