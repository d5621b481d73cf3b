"""The supervisor's pages inside the desk app: the analytics dashboard (/dashboard/,
/api/analytics/...) and the trainer review (/trainer/), behind the desk's own login.

Both packages bring a blueprint with an `auth_check(request)` hook; here it is the desk's
authentication (session cookie with CSRF on changes, or the service token) and role:
supervisors (and trainers, who are supervisors in the desk) and services only.
"""

from __future__ import annotations

import logging
from typing import Optional

from sanic import Sanic
from sanic.request import Request

from desk import auth
from service_common.errors import ApiError

logger = logging.getLogger(__name__)


def supervisor_name(request: Request) -> Optional[str]:
    """The caller's name when a supervisor or a service calls, else None (401/403)."""
    principal = getattr(request.ctx, "principal", None)
    if principal is None:
        try:
            principal = auth.authenticate(request)
        except ApiError:
            return None
    if principal.is_service:
        return "service"
    return principal.name if principal.is_supervisor else None


def mount(app: Sanic) -> None:
    """Mount both blueprints (their API under the desk's authentication)."""
    from analytics import http as analytics_http
    from trainer import http as trainer_http

    analytics_http.register(app, lambda request: supervisor_name(request) is not None)
    trainer_http.register(app, supervisor_name)
    logger.info("dashboard at /dashboard/, trainer review at /trainer/")
