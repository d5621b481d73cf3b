"""Environment settings: defaults.env is the one place for defaults, bad values stop a start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from service_common.config import ConfigError
from service_common.settings import check_environment, defaults, env_int, env_str

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("actions", "analytics", "brand", "channels", "compliance", "components", "desk",
            "escalation", "knowledge", "privacy", "security", "service_common", "shop",
            "trainer")
# A read of a variable with a default written in the code: os.environ.get("X", "3"),
# env_int("X", 5), ...
READ_WITH_DEFAULT = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|env_str|env_int|env_float|env_bool|_env_int|_env_bool)"""
    r"""\(\s*"([A-Z0-9_]+)"\s*,\s*("[^"]*"|-?[0-9.]+|True|False)\s*[,)]""")
def _code_defaults():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for match in READ_WITH_DEFAULT.finditer(path.read_text(encoding="utf-8")):
                yield path.relative_to(ROOT), match.group(1), match.group(2).strip('"')


def test_defaults_in_code_equal_defaults_env() -> None:
    env_file = defaults()
    differ = []
    for path, name, value in _code_defaults():
        if name not in env_file:
            continue
        same = value == env_file[name] or (
            value in ("", "False", "0") and env_file[name] in ("", "0"))
        if not same:
            differ.append(f"{path}: {name} = {value!r}, defaults.env: {env_file[name]!r}")
    assert not differ, "\n".join(differ)


def test_every_checked_setting_has_its_default_in_defaults_env() -> None:
    from service_common import settings

    for name in (*settings.PORTS, *settings.COUNTS, *settings.SECONDS, *settings.SWITCHES):
        assert defaults().get(name), name


def test_unset_or_empty_variables_take_the_defaults_env_value(monkeypatch) -> None:
    monkeypatch.delenv("SELF_VERIFYING_CHANNELS", raising=False)
    from actions.common import self_verifying_channels

    # It used to be empty for an action server started without the stack's environment,
    # while defaults.env and the README said wecom,wechat_oa.
    assert self_verifying_channels() == {"wecom", "wechat_oa"}
    monkeypatch.setenv("SESSION_MAX_MESSAGES", "")
    assert env_int("SESSION_MAX_MESSAGES") == int(defaults()["SESSION_MAX_MESSAGES"])
    assert env_str("NOT_A_SETTING_ANYWHERE", "x") == "x"


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("SESSION_MAX_MESSAGES", "many", "must be an integer, got 'many'"),
    ("SHOP_PORT", "99999", "must be a port number (0-65535), got 99999"),
    ("SHOP_API_TIMEOUT", "0", "must be more than 0, got '0'"),
    ("DEMO_MODE", "maybe", "must be true or false, got 'maybe'"),
])
def test_a_bad_value_names_the_variable(monkeypatch, name: str, value: str, problem: str
                                        ) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        check_environment()
    assert str(error.value) == f"environment: {name}: {problem}"


def _start(module: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_a_bad_setting_stops_the_action_server_at_start() -> None:
    # It used to fall back to 40 messages silently (and the Rasa server did the same).
    result = _start("actions.server", {"SESSION_MAX_MESSAGES": "forty"}, "--port", "0")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "environment: SESSION_MAX_MESSAGES: must be an integer, got 'forty'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_stops_the_desk_before_its_database(tmp_path: Path) -> None:
    database = tmp_path / "desk.sqlite"
    result = _start("desk", {"DESK_LOGIN_MAX_FAILURES": "five"}, "--port", "1",
                    "--db-url", f"sqlite:///{database}")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "desk: environment: DESK_LOGIN_MAX_FAILURES: must be an integer, got 'five'" \
        in result.stderr
    assert "Traceback" not in result.stderr and not database.exists()


def test_a_bad_setting_stops_the_shop_before_its_database(tmp_path: Path) -> None:
    database = tmp_path / "shop.sqlite"
    result = _start("shop", {"ACTIONS_PORT": "http"}, "--port", "1",
                    "--db-url", f"sqlite:///{database}")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "shop: invalid configuration: environment: ACTIONS_PORT: must be an integer" \
        in result.stderr
    assert not database.exists()


@pytest.mark.parametrize("command", ["consume", "serve"])
def test_a_bad_setting_stops_analytics_before_its_store(tmp_path: Path, command: str) -> None:
    # It used to fail at the first alert run (float('hourly')) in the consumer's loop.
    store = tmp_path / "analytics.sqlite"
    result = _start("analytics", {"ANALYTICS_ALERT_INTERVAL_SECONDS": "hourly",
                                  "ANALYTICS_DB_URL": f"sqlite:///{store}",
                                  "ANALYTICS_API_TOKEN": "t" * 32}, command)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip() == "analytics: environment: ANALYTICS_ALERT_INTERVAL_SECONDS: " \
        "must be a number, got 'hourly'"
    assert not store.exists()


def test_a_bad_channel_setting_stops_the_rasa_server_at_start() -> None:
    # The channels run in the Rasa server (credentials.yml); WECOM_RETRY_SECONDS used to be
    # read with float() only when the WeCom channel was built, with a traceback.
    env = {**defaults(), **{k: v for k, v in os.environ.items() if v},
           "PYTHONPATH": str(ROOT), "WECOM_RETRY_SECONDS": "soon"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "run", "--port", "0", "--credentials",
         "credentials.yml", "--endpoints", "endpoints.yml", "--model", "models"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "rasa: environment: WECOM_RETRY_SECONDS: must be a number, got 'soon'" \
        in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("value", "demo"), [
    ("true", True), ("1", True), ("yes", True), ("on", True),
    ("0", False), ("false", False), ("", False),
])
def test_demo_mode_means_the_same_in_every_service(monkeypatch, value: str, demo: bool
                                                   ) -> None:
    # DEMO_MODE=true used to put the desk (and the secrets check) in demo mode but not the
    # shop, which took only "1".
    from desk.__main__ import demo_mode as desk_demo_mode
    from security.secrets import demo_mode as secrets_demo_mode
    from shop.security import Settings

    monkeypatch.setenv("DEMO_MODE", value)
    assert desk_demo_mode() is demo
    assert secrets_demo_mode() is demo
    assert secrets_demo_mode({"DEMO_MODE": value}) is demo
    assert Settings.from_env().demo_mode is demo


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("SHOP_VERIFY_MAX_FAILURES", "five", "must be an integer, got 'five'"),
    ("SHOP_COUPON_MAX_AMOUNT", "fifty", "must be an amount, got 'fifty'"),
])
def test_a_bad_shop_setting_names_the_variable(monkeypatch, name: str, value: str,
                                               problem: str) -> None:
    # The shop used to fall back to its default silently (5 failures, 50 yuan).
    from shop.security import Settings

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        Settings.from_env()
    assert str(error.value) == f"environment: {name}: {problem}"


def test_a_bad_argument_default_stops_the_desk_without_a_traceback() -> None:
    # DESK_RASA_TIMEOUT used to be float()ed in the argument parser, with a traceback.
    result = _start("desk", {"DESK_RASA_TIMEOUT": "slow"}, "--port", "1")
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip() == \
        "desk: environment: DESK_RASA_TIMEOUT: must be a number, got 'slow'"
