"""Agent accounts, password hashing, cookie sessions, CSRF and login throttling.

Two kinds of caller reach /api:
- services (the action server, the web-chat channel, analytics) with `Authorization: Bearer
  DESK_API_TOKEN`;
- agents in the browser with the `desk_session` cookie (HttpOnly, SameSite=Strict, Secure
  behind https) plus the session's CSRF token in `X-CSRF-Token` on every state change.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sanic.request import Request
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from desk.models import AGENT_ROLES, Agent, AgentSession, LoginAttempt, utcnow
from service_common.errors import ApiError

COOKIE = "desk_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_hasher = PasswordHasher()
# Verified against when the name is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not-a-password")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Principal:
    """Who is calling: a service (bearer token) or an agent (session cookie)."""

    kind: str  # "service" | "agent"
    agent_id: Optional[int] = None
    name: Optional[str] = None
    role: Optional[str] = None
    csrf: Optional[str] = None

    @property
    def is_service(self) -> bool:
        return self.kind == "service"

    @property
    def is_supervisor(self) -> bool:
        return self.kind == "agent" and self.role == "supervisor"


SERVICE = Principal("service")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: Optional[str], password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def token_matches(header: str, expected: bytes) -> bool:
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not expected:
        return False
    # Constant-time, so response timing does not leak how much of a guess was right.
    return hmac.compare_digest(given.strip().encode(), expected)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_agent(session: Session, name: str, password: str, role: str = "agent",
                 max_chats: int = 5, queues: Optional[list[str]] = None) -> Agent:
    if role not in AGENT_ROLES:
        raise ValueError(f"role must be one of {', '.join(AGENT_ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
    if not 1 <= max_chats <= 50:
        raise ValueError("max_chats must be between 1 and 50")
    existing = session.execute(select(Agent).where(Agent.name == name)).scalar_one_or_none()
    if existing is not None:
        raise ValueError(f"an agent named {name} exists already")
    agent = Agent(name=name, password_hash=hash_password(password), role=role,
                  status="offline", max_chats=max_chats, queues=queues, disabled=False,
                  created_at=utcnow())
    session.add(agent)
    session.flush()
    return agent


@dataclass(frozen=True)
class Throttle:
    max_failures: int = 5  # per account name within the window
    max_client_failures: int = 20  # per client address within the window
    window_seconds: int = 900


def check_throttle(session: Session, throttle: Throttle, name: str, client: str) -> None:
    since = utcnow() - timedelta(seconds=throttle.window_seconds)
    by_name = session.execute(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.name == name, LoginAttempt.success.is_(False), LoginAttempt.at >= since,
    )).scalar_one()
    by_client = session.execute(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.client == client, LoginAttempt.success.is_(False),
        LoginAttempt.at >= since,
    )).scalar_one()
    if by_name >= throttle.max_failures or by_client >= throttle.max_client_failures:
        minutes = max(1, throttle.window_seconds // 60)
        raise ApiError(429, "too_many_attempts",
                       f"登录失败次数过多，请 {minutes} 分钟后再试", retry_after=minutes * 60)


def record_attempt(session: Session, name: str, client: str, success: bool) -> None:
    session.add(LoginAttempt(name=name[:64], client=client[:64], success=success, at=utcnow()))
    if success:
        # A successful login clears the name's failures: the owner is back.
        session.execute(delete(LoginAttempt).where(LoginAttempt.name == name,
                                                   LoginAttempt.success.is_(False)))


def login(session: Session, throttle: Throttle, name: str, password: str, client: str,
          lifetime: timedelta) -> tuple[Agent, str, AgentSession]:
    """Check the password; returns (agent, cookie value, session) or raises 401/429."""
    check_throttle(session, throttle, name, client)
    agent = session.execute(select(Agent).where(Agent.name == name)).scalar_one_or_none()
    ok = verify_password(agent.password_hash if agent else None, password)
    if not ok or agent is None or agent.disabled:
        record_attempt(session, name, client, False)
        session.commit()  # the failure counts even though the request fails
        raise ApiError(401, "invalid_credentials", "用户名或密码错误")
    record_attempt(session, name, client, True)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = AgentSession(token_hash=_digest(token), agent_id=agent.id,
                       csrf_token=secrets.token_urlsafe(24), created_at=now,
                       expires_at=now + lifetime)
    session.add(row)
    session.execute(delete(AgentSession).where(AgentSession.expires_at < now))
    agent.last_seen_at = now
    return agent, token, row


def logout(session: Session, token: Optional[str]) -> None:
    if token:
        session.execute(delete(AgentSession).where(AgentSession.token_hash == _digest(token)))


def principal_from_cookie(session: Session, token: Optional[str]) -> Optional[Principal]:
    if not token:
        return None
    row = session.get(AgentSession, _digest(token))
    if row is None:
        return None
    if row.expires_at <= utcnow():
        session.delete(row)
        return None
    agent = session.get(Agent, row.agent_id)
    if agent is None or agent.disabled:
        return None
    return Principal("agent", agent.id, agent.name, agent.role, row.csrf_token)


def authenticate(request: Request) -> Principal:
    """The caller of an /api request, or 401. Cookie callers must send the CSRF token on
    state changes (a cross-site form cannot read it)."""
    header = request.headers.get("authorization")
    if header:
        if token_matches(header, request.app.ctx.api_token):
            return SERVICE
        raise _unauthorized("缺少或错误的访问令牌（请求头 Authorization: Bearer <令牌>）")
    token = request.cookies.get(COOKIE)
    if not token:
        raise _unauthorized("请先登录")
    with request.app.ctx.sessions() as session:
        principal = principal_from_cookie(session, token)
        session.commit()
    if principal is None:
        raise ApiError(401, "session_expired", "登录已过期，请重新登录")
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), (principal.csrf or "").encode()):
            raise ApiError(403, "csrf_failed", "页面已过期，请刷新后重试（CSRF 校验失败）")
    return principal


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def require_supervisor_or_service(principal: Principal) -> None:
    if not (principal.is_service or principal.is_supervisor):
        raise ApiError(403, "forbidden", "仅主管或服务账号可以访问")


def require_service(principal: Principal) -> None:
    if not principal.is_service:
        raise ApiError(403, "forbidden", "仅服务账号可以调用此接口")


def require_agent(principal: Principal) -> None:
    if principal.is_service:
        raise ApiError(403, "agent_only", "此接口需要客服登录（会话 Cookie）")
