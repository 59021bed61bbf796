"""What every page shares: the session cookie, CSRF tokens, language, rendering, access checks."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Engine

from handlers.db import UnitOfWork
from handlers.portal_people import Principal
from handlers.portal_sessions import SessionView, current_session
from portal.config import PortalConfig
from portal.i18n import LANGS, Lang, date_text, money_text, status_text, text

SESSION_COOKIE = "docintake_session"
CSRF_COOKIE = "docintake_csrf"
LANG_COOKIE = "docintake_lang"
TEMPLATES = Path(__file__).parent / "templates"
# What each role may open; a role's first page is where sign-in leads.
USER_ROLES = ("user", "accountant")
PERSON_ROLES = ("authorized_person",)


@dataclass
class Portal:
    """The running portal: its configuration, database engine and templates."""

    config: PortalConfig
    engine: Engine
    templates: Environment

    def uow(self) -> UnitOfWork:
        """A fresh unit of work on the accounts database."""
        return UnitOfWork(self.engine)


def template_environment() -> Environment:
    """Jinja with autoescape on for every template: client text is always escaped."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class RedirectTo(Exception):
    """Leave this page for another (sign-in, the forced password change, the role's home)."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(path)


class CsrfRefused(Exception):
    """A form came without the token this browser was given."""


def portal_of(request: Request) -> Portal:
    """The portal serving this request."""
    portal: Portal = request.app.state.portal
    return portal


def lang_of(request: Request) -> Lang:
    """The page language: the visitor's choice, else Latvian."""
    chosen = request.cookies.get(LANG_COOKIE)
    return "en" if chosen == "en" else "lv"


def client_address(request: Request) -> str:
    """The client's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return request.client.host if request.client else "unknown"


def session_token(request: Request) -> str | None:
    """The session cookie's token, if any."""
    return request.cookies.get(SESSION_COOKIE)


def session_of(request: Request) -> SessionView | None:
    """The live session of this request (looked up once per request)."""
    if not hasattr(request.state, "session"):
        portal = portal_of(request)
        request.state.session = current_session(
            session_token(request), uow=portal.uow(), policy=portal.config.sessions
        )
    view: SessionView | None = request.state.session
    return view


def home_of(principal: Principal) -> str:
    """The first page of a role."""
    return "/applications" if principal.role in PERSON_ROLES else "/account"


def require(request: Request, roles: tuple[str, ...] = ()) -> Principal:
    """The signed-in principal, or a redirect to sign in (or to the forced password change)."""
    session = session_of(request)
    if session is None or session.principal is None:
        raise RedirectTo("/login/role" if session and session.choices else "/login")
    principal = session.principal
    if principal.must_change_password and request.url.path != "/password":
        raise RedirectTo("/password")
    if roles and principal.role not in roles:
        raise RedirectTo(home_of(principal))
    return principal


def csrf_token(request: Request) -> str:
    """The token this browser's forms carry: its session's, else a per-browser cookie's."""
    session = session_of(request)
    if session is not None:
        return session.csrf_token
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return str(token)


def check_csrf(request: Request, submitted: object) -> None:
    """Refuse a form whose token is not the one this browser was given."""
    session = session_of(request)
    expected = session.csrf_token if session is not None else request.cookies.get(CSRF_COOKIE)
    if (
        not expected
        or not isinstance(submitted, str)
        or not hmac.compare_digest(expected.encode(), submitted.encode())
    ):
        raise CsrfRefused


def set_cookie(response: Response, config: PortalConfig, name: str, value: str) -> None:
    """A session-lifetime cookie: HttpOnly, SameSite=Lax, Secure unless the demo turned it off."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=config.secure_cookies,
        path="/",
    )


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page from its template, with the language, CSRF token and who is signed in."""
    portal = portal_of(request)
    lang = lang_of(request)
    session = session_of(request)

    def t(key: str, **params: object) -> str:
        return text(key, lang, **params)

    html = portal.templates.get_template(template).render(
        t=t,
        lang=lang,
        other_lang=next(code for code in LANGS if code != lang),
        money=lambda amount: money_text(amount, lang),
        day=lambda value: date_text(value, lang),
        status=lambda value: status_text(value, lang),
        csrf=csrf_token(request),
        principal=session.principal if session else None,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    new_csrf = getattr(request.state, "new_csrf", None)
    if new_csrf:
        set_cookie(response, portal.config, CSRF_COOKIE, new_csrf)
    return response


def redirect(path: str) -> RedirectResponse:
    """See another page (303: the browser follows with GET)."""
    return RedirectResponse(path, status_code=303)


def safe_next(path: str | None) -> str:
    """A local path to return to; anything else (another site) becomes the start page."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path
