"""`make run` gives the desk its first accounts: on a new installation, and again after the
desk's database was reset (the accounts file alone does not mean the accounts exist)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from stack import Stack, desk_accounts, desk_agent_names  # noqa: E402


def test_first_accounts_and_again_after_a_reset(tmp_path: Path) -> None:
    database = tmp_path / "desk.sqlite"
    url = f"sqlite:///{database}"
    accounts = tmp_path / "desk-accounts.txt"
    stack = Stack(env={"DESK_DB_URL": url, "DEMO_MODE": "0"})
    assert desk_agent_names(url) == []  # no database yet

    desk_accounts(stack, accounts)
    assert sorted(desk_agent_names(url)) == ["小王", "店长"]
    first = accounts.read_text(encoding="utf-8")
    assert "店长 (supervisor): " in first and "小王 (agent): " in first
    assert accounts.stat().st_mode & 0o777 == 0o600

    desk_accounts(stack, accounts)  # a second start changes nothing
    assert accounts.read_text(encoding="utf-8") == first

    database.unlink()  # the desk's database was reset
    desk_accounts(stack, accounts)
    assert sorted(desk_agent_names(url)) == ["小王", "店长"]
    again = accounts.read_text(encoding="utf-8")
    assert "店长 (supervisor): " in again and again != first  # new passwords, written down
