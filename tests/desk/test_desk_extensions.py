"""The dashboard and the trainer review inside the desk app, behind the desk's login."""

from __future__ import annotations

import pytest
import requests
from agent_helpers import Agent, add_agent
from desk_helpers import AUTH


@pytest.fixture(scope="module")
def desk(desk_factory, tmp_path_factory):
    folder = tmp_path_factory.mktemp("extensions")
    db_url = f"sqlite:///{folder / 'desk.sqlite'}"
    server = desk_factory(db_url, env={
        "ANALYTICS_DB_URL": f"sqlite:///{folder / 'analytics.sqlite'}",
        "TRACKER_STORE_URL": f"sqlite:///{folder / 'tracker.sqlite'}",
        "TRAINER_DB_URL": f"sqlite:///{folder / 'trainer.sqlite'}",
        "DESK_RATING_POLL_SECONDS": "0", "DESK_AUTO_ASSIGN": "false"})
    add_agent(db_url, "小王", "wang-pass-123")
    add_agent(db_url, "老张", "zhang-pass-12", role="supervisor")
    return server


def test_supervisors_and_services_reach_the_dashboard_and_the_trainer_review(desk):
    boss = Agent(desk.url, "老张", "zhang-pass-12")
    overview = boss.get("/api/analytics/overview")
    assert overview.status_code == 200, overview.text
    assert boss.get("/dashboard/").status_code == 200
    review = boss.get("/trainer/api/review")
    assert review.status_code == 200, review.text
    assert boss.get("/trainer/").status_code == 200
    service = requests.get(f"{desk.url}/api/analytics/overview", headers=AUTH, timeout=10)
    assert service.status_code == 200


def test_agents_and_strangers_do_not(desk):
    agent = Agent(desk.url, "小王", "wang-pass-123")
    assert agent.get("/api/analytics/overview").status_code in (401, 403)
    assert agent.get("/trainer/api/review").status_code in (401, 403)
    for path in ("/api/analytics/overview", "/trainer/api/review"):
        assert requests.get(desk.url + path, timeout=10).status_code in (401, 403)
    # A state change without the CSRF token is refused even for a supervisor.
    boss = Agent(desk.url, "老张", "zhang-pass-12")
    refused = boss.post("/trainer/api/dismiss", {"keys": ["x"]}, csrf=False)
    assert refused.status_code in (401, 403)
