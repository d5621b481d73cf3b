"""The config layer: every edited YAML file through its model, the exported JSON Schemas."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Union

import jsonschema
import pytest
import yaml

from service_common.config import ConfigError, load_yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import config_schemas  # noqa: E402

FILES = config_schemas.config_files()

# One wrong value per file, at a path the trainer would recognise.
MISTAKES = {
    "analytics/targets.yml": (["metrics", "csat", "direction"], "up"),
    "analytics/topics.yml": (["topics", "发票", 1], 7),
    "brand/empathy.yml": (["situations", "wait", "calm", 0], ""),
    "brand/tone.yml": (["tones", "专业", "max_emoji"], -1),
    "compliance/rules.yml": (["rules", 2, "action"], "delete"),
    "components/emotion_lexicon.yml": (["cues", "threat", "weight"], "high"),
    "config.yml": (["pipeline", 0, "dictionary_path"], ["jieba_dict"]),
    "desk/canned.yml": (["replies", 1, "title"], ""),
    "desk/playbook_access.yml": (["roles", "agent"], "delayed_parcel_apology"),
    "desk/queues.yml": (["queues", "senior", "avg_handling_minutes"], 0),
    "escalation/playbook.yml": (["plays", 0, "coupon", "amount"], "5元"),
    "escalation/rules.yml": (["rules", 3, "when", "emotion"], "furious"),
    "policy/aftersales.yml": (["reasons", "size", "shipping"], "customer"),
    "policy/product_attributes.yml": (["attributes", "bluetooth", "keywords"], "蓝牙"),
    "shop/promotions.yml": (["promotions", 1, "valid_days"], 400),
}


def test_every_config_file_has_a_mistake_case() -> None:
    assert set(MISTAKES) == set(FILES)


@pytest.mark.parametrize("config_path", sorted(FILES))
def test_the_shipped_file_is_valid(config_path: str) -> None:
    load_yaml(ROOT / config_path, FILES[config_path])


def _set(data: Any, path: List[Union[str, int]], value: Any) -> Any:
    changed = copy.deepcopy(data)
    node = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


@pytest.mark.parametrize("config_path", sorted(FILES))
def test_a_wrong_value_names_the_file_the_line_and_the_path(
        tmp_path: Path, config_path: str) -> None:
    path, value = MISTAKES[config_path]
    data = yaml.safe_load((ROOT / config_path).read_text(encoding="utf-8"))
    edited = tmp_path / Path(config_path).name
    # One key per line, so the line of the wrong value is easy to find.
    edited.write_text(yaml.safe_dump(_set(data, path, value), allow_unicode=True,
                                     default_flow_style=False, sort_keys=False),
                      encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_yaml(edited, FILES[config_path])
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    assert error.value.source == str(edited)
    assert error.value.where == where, str(error.value)
    node = yaml.compose(edited.read_text(encoding="utf-8"))
    for part in path:
        node = dict((key.value, item) for key, item in node.value)[part] \
            if isinstance(part, str) else node.value[part]
    assert error.value.line == node.start_mark.line + 1, str(error.value)
    assert str(error.value).startswith(f"{edited}:{error.value.line}: {where}: ")


def test_committed_schemas_are_what_the_models_say(tmp_path: Path) -> None:
    # A separate interpreter, as a trainer runs it.
    subprocess.run([sys.executable, str(ROOT / "scripts/config_schemas.py"), str(tmp_path)],
                   check=True, capture_output=True, cwd=ROOT)
    fresh = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    committed = {path.name: path.read_text(encoding="utf-8")
                 for path in (ROOT / "docs/schemas").glob("*.schema.json")}
    assert fresh == committed, "run .venv/bin/python scripts/config_schemas.py and commit"


@pytest.mark.parametrize("config_path", sorted(FILES))
def test_an_editor_accepts_the_shipped_file_and_flags_the_mistake(config_path: str) -> None:
    schema = json.loads((ROOT / "docs/schemas" / config_schemas.schema_file(config_path))
                        .read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    # As an editor sees it: a YAML 1.2 language server reads 2026-11-23 as text.
    data = json.loads(json.dumps(yaml.safe_load((ROOT / config_path).read_text(
        encoding="utf-8")), default=str))
    assert not list(validator.iter_errors(data))
    path, value = MISTAKES[config_path]
    assert list(validator.iter_errors(_set(data, path, value)))


def test_environment_settings_raise_the_same_error(monkeypatch) -> None:
    from service_common.settings import env_int

    monkeypatch.setenv("SHOP_API_RETRIES", "two")
    with pytest.raises(ConfigError, match="^environment: SHOP_API_RETRIES: must be an integer"):
        env_int("SHOP_API_RETRIES", 2)
