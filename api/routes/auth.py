"""``/api/v1/auth``: people log in (a session cookie), log out, and ask who they are; the first one
can be created from the web UI's first-run page.

Login, logout and first run are the only ``/api/v1`` routes open without a caller (api/app.py mounts
``public`` outside the authenticated group). Login is rate-limited per client address, costs
one argon2 verification whether or not the name exists, and refuses a cross-site ``Origin``
(login CSRF: a foreign page logging a browser into someone else's account).

First run (``/auth/first-run``) creates the first person while nobody exists, and only for a
visitor on this machine: the request comes from a loopback address and passed no proxy (no
``Forwarded``/``X-Forwarded-For``/``X-Real-IP`` header). Whoever installed MAMcrawler opens the page
on the server; a stranger who finds the port open before that cannot claim the instance.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, Caller, check_rate, require_key, session_caller
from api.problems import Problem, documented
from shared.infra.db import session_scope
from shared.infra.settings import get_settings
from shared.people import sessions, users
from shared.people.passwords import MAX_LENGTH

public = APIRouter(prefix="/api/v1/auth", tags=["auth"])
router = APIRouter(prefix="/auth", tags=["auth"])


class LoginIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class UserOut(BaseModel):
    id: int
    name: str


class MeOut(BaseModel):
    via: str = Field(description="`session` (a person logged in) or `api_key`")
    user: UserOut | None = Field(description="the person, for a session; null for an API key")
    csrf_token: str | None = Field(description=f"for a session: send it in {CSRF_HEADER} on POST, PUT, PATCH, "
                                               "DELETE; null for an API key, which needs none")


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def _set_cookies(response: Response, new: sessions.NewSession) -> None:
    settings = get_settings()
    max_age = int(settings.session_max_days * 86400)
    for name, value, http_only in ((SESSION_COOKIE, new.token, True), (CSRF_COOKIE, new.csrf_token, False)):
        response.set_cookie(name, value, max_age=max_age, path="/", httponly=http_only, samesite="lax",
                            secure=settings.behind_https)


def _clear_cookies(response: Response) -> None:
    settings = get_settings()
    for name, http_only in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", httponly=http_only, samesite="lax", secure=settings.behind_https)


def _login(name: str, password: str) -> tuple[UserOut, sessions.NewSession] | None:
    settings = get_settings()
    with session_scope() as s:
        user = users.authenticate(s, name, password)
        if user is None:
            return None
        sessions.purge_expired(s)  # housekeeping where sessions begin: one indexed DELETE per login
        new = sessions.start(s, user.id, idle=timedelta(hours=settings.session_idle_hours),
                             max_age=timedelta(days=settings.session_max_days))
        return UserOut(id=user.id, name=user.name), new


@public.post("/login", response_model=MeOut, responses=documented(401, 403, 429))
async def login(body: LoginIn, request: Request, response: Response) -> MeOut:
    """Check a name and password; on success set the ``mamc_session`` (HttpOnly) and ``mamc_csrf`` cookies."""
    if not _same_origin(request):
        raise Problem(403, "Cross-site login refused", "the Origin of this request is not this server")
    client = request.client.host if request.client else "unknown"
    await check_rate(request, f"login:{client}")
    done = await run_in_threadpool(_login, body.name, body.password)
    if done is None:
        raise Problem(401, "Unauthorized", "wrong name or password")
    user, new = done
    _set_cookies(response, new)
    return MeOut(via="session", user=user, csrf_token=new.csrf_token)


class FirstRunOut(BaseModel):
    available: bool = Field(description="true only while nobody exists and this request comes from this machine")


PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def _from_this_machine(request: Request) -> bool:
    """A loopback client that came through no proxy (a local proxy would make every visitor look local)."""
    if any(h in request.headers for h in PROXY_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _nobody_yet() -> bool:
    with session_scope() as s:
        return not users.anyone(s)


@public.get("/first-run", response_model=FirstRunOut)
async def first_run_state(request: Request) -> FirstRunOut:
    """Whether the first-run page applies to this visitor (the login page asks, and goes there when it does)."""
    return FirstRunOut(available=_from_this_machine(request) and await run_in_threadpool(_nobody_yet))


def _first_run(name: str, password: str) -> tuple[UserOut, sessions.NewSession]:
    settings = get_settings()
    with session_scope() as s:
        user = users.create_first_user(s, name, password)
        new = sessions.start(s, user.id, idle=timedelta(hours=settings.session_idle_hours),
                             max_age=timedelta(days=settings.session_max_days))
        return UserOut(id=user.id, name=user.name), new


@public.post("/first-run", response_model=MeOut, status_code=201, responses=documented(403, 409, 422, 429))
async def first_run(body: LoginIn, request: Request, response: Response) -> MeOut:
    """Create the first person and log this browser in; refused once anyone exists (409) and from
    anywhere but this machine (403)."""
    if not _same_origin(request):
        raise Problem(403, "Cross-site request refused", "the Origin of this request is not this server")
    if not _from_this_machine(request):
        raise Problem(403, "First run is only open on this machine",
                      "open the page on the server itself (http://127.0.0.1:...), or run `mamcrawler user create`")
    client = request.client.host if request.client else "unknown"
    await check_rate(request, f"login:{client}")
    try:
        user, new = await run_in_threadpool(_first_run, body.name, body.password)
    except users.NotFirst as exc:
        raise Problem(409, "Somebody exists already", str(exc)) from None
    except ValueError as exc:  # a bad name or a weak password: the message names the rule
        field = "password" if "password" in str(exc) else "name"
        raise Problem(422, "Invalid request", str(exc),
                      errors=[{"loc": ["body", field], "msg": str(exc), "type": "value_error"}]) from None
    _set_cookies(response, new)
    return MeOut(via="session", user=user, csrf_token=new.csrf_token)


def _logout(token: str) -> None:
    with session_scope() as s:
        sessions.end(s, token)


@public.post("/logout", status_code=204, responses=documented(403))
async def logout(request: Request) -> Response:
    """End this browser's session (its CSRF token is required while the session is alive) and clear the cookies."""
    caller = await session_caller(request)
    if caller is not None:
        assert caller.csrf_token is not None
        if not sessions.csrf_matches(caller.csrf_token, request.headers.get(CSRF_HEADER)):
            raise Problem(403, "CSRF token missing or wrong", f"send the session's token in {CSRF_HEADER}")
        await run_in_threadpool(_logout, request.cookies[SESSION_COOKIE])
    response = Response(status_code=204)
    _clear_cookies(response)
    return response


@router.get("/me", response_model=MeOut)
def me(caller: Annotated[Caller, Depends(require_key)]) -> MeOut:
    """Who is asking; a page calls it first, and a 401 sends it to the login page."""
    if caller.user_id is None:
        return MeOut(via="api_key", user=None, csrf_token=None)
    assert caller.name is not None
    return MeOut(via="session", user=UserOut(id=caller.user_id, name=caller.name), csrf_token=caller.csrf_token)


