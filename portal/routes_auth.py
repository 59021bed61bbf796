"""Signing in and out, choosing a role, and passwords: change, forgotten, set by a link."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response
from pydantic import SecretStr

from handlers import portal_people, portal_sessions
from handlers.commands import ChangePassword, RequestPasswordReset, ResetPassword
from handlers.credentials import token_hash
from handlers.portal_people import LINK_LIFETIME, Principal
from handlers.portal_sessions import account_key, address_key
from handlers.selfservice import change_password, request_password_reset, reset_password
from portal import mail
from portal.i18n import LANGS, text
from portal.web import (
    LANG_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    client_address,
    home_of,
    lang_of,
    portal_of,
    redirect,
    render,
    require,
    safe_next,
    session_of,
    session_token,
    set_cookie,
)

router = APIRouter()
RIGA = ZoneInfo("Europe/Riga")
Field = Annotated[str, Form()]


@router.get("/")
def start(request: Request) -> Response:
    """The signed-in person's first page, or the sign-in page."""
    session = session_of(request)
    if session is None or session.principal is None:
        return redirect("/login")
    return redirect(home_of(session.principal))


@router.get("/lang/{code}")
def switch_language(code: str, request: Request, next: str = "/") -> Response:
    """Show the pages in Latvian or English from now on."""
    response = redirect(safe_next(next))
    if code in LANGS:
        set_cookie(response, portal_of(request).config, LANG_COOKIE, code)
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    """The sign-in form."""
    session = session_of(request)
    if session is not None and session.principal is not None:
        return redirect(home_of(session.principal))
    return render(request, "login.html.j2", error=None, identifier="")


def _lock_text(request: Request, until: datetime) -> str:
    # Riga's wall clock is what a client reads; the lock's end is shown to the minute.
    local = until.astimezone(RIGA)
    return text("locked", lang_of(request), until=local.strftime("%H:%M"))


@router.post("/login")
def login(
    request: Request, identifier: Field = "", password: Field = "", csrf: Field = ""
) -> Response:
    """Check the password; one role signs in, several ask which; failures count toward a lock.

    The answer is the same for an unknown name and a wrong password, and a lock falls on names
    nobody has as well, so neither tells who exists.
    """
    check_csrf(request, csrf)
    portal = portal_of(request)
    config = portal.config
    account = account_key(identifier)
    address = address_key(client_address(request))
    locked = portal_sessions.locked_until([account, address], uow=portal.uow())
    if locked is not None:
        return render(
            request, "login.html.j2", error=_lock_text(request, locked), identifier=identifier
        )
    found = portal_people.authenticate(identifier, password, uow=portal.uow())
    if not found:
        earned = portal_sessions.record_failed_sign_in(
            account, address, uow=portal.uow(), policy=config.throttle
        )
        error = _lock_text(request, earned) if earned else text("bad_credentials", lang_of(request))
        return render(request, "login.html.j2", error=error, identifier=identifier)
    portal_sessions.clear_failures(account, uow=portal.uow())
    portal_sessions.expire_sessions(uow=portal.uow(), policy=config.sessions)
    principal = found[0] if len(found) == 1 else None
    token, _view = portal_sessions.open_session(
        uow=portal.uow(),
        principal=principal,
        choices=found if principal is None else (),
        replaces=session_token(request),
    )
    response = redirect("/login/role" if principal is None else _after_sign_in(principal))
    set_cookie(response, config, SESSION_COOKIE, token)
    return response


def _after_sign_in(principal: Principal) -> str:
    return "/password" if principal.must_change_password else home_of(principal)


@router.get("/login/role")
def role_page(request: Request) -> Response:
    """Which of the roles this password fits to sign in as."""
    session = session_of(request)
    if session is None or not session.choices:
        return redirect("/login")
    return render(request, "role.html.j2", choices=list(enumerate(session.choices)))


@router.post("/login/role")
def choose_role(request: Request, choice: Field = "", csrf: Field = "") -> Response:
    """Sign in as the chosen role (a fresh session again)."""
    check_csrf(request, csrf)
    session = session_of(request)
    if session is None or not session.choices:
        return redirect("/login")
    try:
        principal = session.choices[int(choice)]
    except (ValueError, IndexError):
        return redirect("/login/role")
    portal = portal_of(request)
    token, _view = portal_sessions.open_session(
        uow=portal.uow(), principal=principal, replaces=session_token(request)
    )
    response = redirect(_after_sign_in(principal))
    set_cookie(response, portal.config, SESSION_COOKIE, token)
    return response


@router.post("/logout")
def logout(request: Request, csrf: Field = "") -> Response:
    """Sign out: the session ends on the server, the cookie is dropped."""
    check_csrf(request, csrf)
    portal_sessions.close_session(session_token(request), uow=portal_of(request).uow())
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password")
def password_page(request: Request) -> Response:
    """The change-password form (forced after a temporary password)."""
    require(request)
    return render(request, "password.html.j2", result=None, error=None)


@router.post("/password")
def password_change(
    request: Request,
    old_password: Field = "",
    new_password: Field = "",
    new_password2: Field = "",
    csrf: Field = "",
) -> Response:
    """Change one's own password; every other session of the person ends."""
    check_csrf(request, csrf)
    principal = require(request)
    portal = portal_of(request)
    if new_password != new_password2:
        return render(request, "password.html.j2", result=None, error="passwords_differ")
    if principal.kind == "user":
        result = change_password(
            ChangePassword(
                request_key=f"portal-password:{uuid.uuid4()}",
                actor="portal",
                username=principal.login,
                old_password=SecretStr(old_password),
                new_password=SecretStr(new_password),
            ),
            uow=portal.uow(),
            today=date.today(),
        )
    else:
        result = portal_people.change_person_password(
            principal.id, old_password, new_password, uow=portal.uow()
        )
    if result.ok:
        portal_sessions.close_other_sessions(principal, session_token(request), uow=portal.uow())
        request.state.session = None  # read again: the forced change is over
        if principal.must_change_password:
            return redirect(home_of(principal))
    return render(request, "password.html.j2", result=result, error=None)


@router.get("/password/forgot")
def forgot_page(request: Request) -> Response:
    """The password reminder form."""
    return render(request, "forgot.html.j2", done=False)


@router.post("/password/forgot")
def forgot(
    request: Request, tasks: BackgroundTasks, identifier: Field = "", csrf: Field = ""
) -> Response:
    """Send a one-time link to whoever this is; the answer is the same for anyone or no one."""
    check_csrf(request, csrf)
    portal = portal_of(request)
    config = portal.config
    if identifier.strip() and _reminder_allowed(request, identifier):
        request_password_reset(
            RequestPasswordReset(
                request_key=f"portal-reset:{uuid.uuid4()}", actor="portal", identifier=identifier
            ),
            uow=portal.uow(),
            today=date.today(),
        )
        for link in portal_people.request_person_link(identifier, uow=portal.uow()):
            tasks.add_task(
                mail.send_link,
                config,
                "person_link",
                link.email,
                {
                    "name": link.name,
                    "link": f"{config.reset_url}?token={link.token}",
                    "valid_hours": int(LINK_LIFETIME.total_seconds() // 3600),
                },
            )
        tasks.add_task(mail.deliver_outbox, config, portal.uow)
    return render(request, "forgot.html.j2", done=True)


def _reminder_allowed(request: Request, identifier: str) -> bool:
    """Count this reminder; False once a name or an address asked too often (nothing is sent)."""
    portal = portal_of(request)
    keys = (
        "reminder-" + account_key(identifier),
        "reminder-" + address_key(client_address(request)),
    )
    if portal_sessions.locked_until(keys, uow=portal.uow()) is not None:
        return False
    portal_sessions.record_failed_sign_in(
        *keys,
        uow=portal.uow(),
        policy=portal.config.reminder_throttle,
        action="portal.reminder_locked",
    )
    return True


@router.get("/password/reset")
def reset_page(request: Request, token: str = "") -> Response:
    """The set-new-password form a mailed link opens."""
    return render(request, "reset.html.j2", token=token, error=None)


@router.post("/password/reset")
def reset(
    request: Request,
    token: Field = "",
    new_password: Field = "",
    new_password2: Field = "",
    csrf: Field = "",
) -> Response:
    """Set the new password with the link's token (a user's reset or a person's enrolment)."""
    check_csrf(request, csrf)
    portal = portal_of(request)
    if new_password != new_password2:
        return render(request, "reset.html.j2", token=token, error="passwords_differ")
    if portal_people.is_person_link(token, uow=portal.uow()):
        result = portal_people.set_person_password(token, new_password, uow=portal.uow())
        ended = ("person", list(result.data.get("person_ids", [])))
    else:
        result = reset_password(
            ResetPassword(
                # One key per token: a double submit applies once.
                request_key=f"portal-reset-token:{token_hash(token)[:32]}",
                actor="portal",
                token=SecretStr(token),
                new_password=SecretStr(new_password),
            ),
            uow=portal.uow(),
            today=date.today(),
        )
        user_id = portal_people.user_id_of(str(result.data.get("username", "")), uow=portal.uow())
        ended = ("user", [] if user_id is None else [user_id])
    if not result.ok:
        error = "link_invalid" if result.code == "token_invalid" else None
        return render(request, "reset.html.j2", token=token, error=error, result=result)
    # Whoever knew the old password is signed out everywhere.
    portal_sessions.end_sessions(*ended, uow=portal.uow())
    return render(request, "message.html.j2", message_key="reset_done", link="/login")
