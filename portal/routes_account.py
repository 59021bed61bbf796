"""A user's own pages: the account, the protocol (and its CSV), top-up, contact details."""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response

from handlers import portal_people, views_portal
from handlers.accounts import statement, top_up
from handlers.commands import TopUp, UpdateContact
from handlers.portal_people import LINK_LIFETIME
from handlers.results import OperationResult
from handlers.selfservice import request_log, update_contact
from handlers.views import RequestLog, Statement
from portal import mail
from portal.i18n import parse_amount, parse_day, text
from portal.web import USER_ROLES, check_csrf, lang_of, portal_of, render, require

router = APIRouter()
Field = Annotated[str, Form()]
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@router.get("/account")
def account(request: Request) -> Response:
    """Balance, monthly amount and the users sharing the subscription."""
    principal = require(request, USER_ROLES)
    portal = portal_of(request)
    view = views_portal.account_view(principal.login, uow=portal.uow(), today=date.today())
    return render(request, "account.html.j2", account=view)


def _protocol(
    request: Request, username: str, date_from: str, date_to: str
) -> tuple[dict[str, Any], str | None]:
    portal = portal_of(request)
    try:
        start, end = parse_day(date_from), parse_day(date_to)
    except ValueError:
        start = end = None
        error: str | None = text("bad_date", lang_of(request))
    else:
        error = None
    ledger = statement(username, uow=portal.uow(), date_from=start, date_to=end)
    log = request_log(username, uow=portal.uow())
    requests = [
        r.model_dump(mode="json")
        for r in (log.requests if isinstance(log, RequestLog) else ())
        if (start is None or r.received >= start) and (end is None or r.received <= end)
    ]
    # The templates and the CSV read plain values: dates as ISO text, amounts as "12.50".
    ledger_data = ledger.model_dump(mode="json") if isinstance(ledger, Statement) else {}
    return {"ledger": ledger_data, "requests": requests, "start": start, "end": end}, error


@router.get("/protocol")
def protocol(request: Request, date_from: str = "", date_to: str = "") -> Response:
    """One's requests and account movements, filtered by dates."""
    principal = require(request, USER_ROLES)
    data, error = _protocol(request, principal.login, date_from, date_to)
    return render(
        request, "protocol.html.j2", date_from=date_from, date_to=date_to, error=error, **data
    )


def _cell(value: object) -> str:
    # A spreadsheet runs a cell that starts like a formula; client text must stay text.
    cell = "" if value is None else str(value)
    return "'" + cell if cell.startswith(CSV_FORMULA_START) else cell


@router.get("/protocol.csv")
def protocol_csv(request: Request, date_from: str = "", date_to: str = "") -> Response:
    """The same protocol as a CSV file (UTF-8 with BOM, `;` as Latvian spreadsheets expect)."""
    principal = require(request, USER_ROLES)
    data, _error = _protocol(request, principal.login, date_from, date_to)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        ["section", "date", "reference", "form_type", "status", "kind", "description", "amount"]
    )
    for r in data["requests"]:
        writer.writerow(
            [
                "request",
                r["received"],
                _cell(r["reference"]),
                r["form_type"],
                r["status"],
                "",
                "",
                "",
            ]
        )
    for e in data["ledger"].get("entries", []):
        # Amounts are numbers we wrote (a minus sign is a sign, not a formula).
        writer.writerow(
            ["ledger", e["date"], "", "", "", e["kind"], _cell(e["description"]), e["amount"]]
        )
    name = f"protokols-{principal.login}-{date.today().isoformat()}.csv"
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/topup")
def topup_page(request: Request) -> Response:
    """The top-up form; its one-time key makes a repeated submit credit once."""
    require(request, USER_ROLES)
    return render(
        request, "topup.html.j2", key=secrets.token_urlsafe(16), amount="", result=None, error=None
    )


@router.post("/topup")
def topup(
    request: Request,
    tasks: BackgroundTasks,
    amount: Field = "",
    key: Field = "",
    csrf: Field = "",
) -> Response:
    """Credit the amount at once and send the invoice mail."""
    check_csrf(request, csrf)
    principal = require(request, USER_ROLES)
    portal = portal_of(request)
    try:
        value = parse_amount(amount)
    except ValueError:
        error = text("bad_amount", lang_of(request))
        return render(request, "topup.html.j2", key=key, amount=amount, result=None, error=error)
    result = top_up(
        TopUp(
            request_key=f"portal-topup:{principal.id}:{key or uuid.uuid4()}",
            actor="portal",
            username=principal.login,
            amount=value,
        ),
        uow=portal.uow(),
        today=date.today(),
    )
    if result.ok:
        tasks.add_task(mail.deliver_outbox, portal.config, portal.uow)
    next_key = secrets.token_urlsafe(16) if result.ok else key
    return render(
        request,
        "topup.html.j2",
        key=next_key,
        amount="" if result.ok else amount,
        result=result,
        error=None,
    )


def _details(request: Request, username: str, **context: Any) -> Response:
    portal = portal_of(request)
    view = views_portal.account_view(username, uow=portal.uow(), today=date.today())
    context.setdefault("result", None)
    context.setdefault("notice", None)
    return render(
        request, "details.html.j2", account=view, staff=portal.config.staff_email, **context
    )


@router.get("/details")
def details_page(request: Request) -> Response:
    """E-mail and phone, and how to change the surname."""
    principal = require(request, USER_ROLES)
    return _details(request, principal.login)


@router.post("/details")
def details(
    request: Request,
    tasks: BackgroundTasks,
    email: Field = "",
    phone: Field = "",
    csrf: Field = "",
) -> Response:
    """Save the phone at once; a new e-mail waits for the link sent to it."""
    check_csrf(request, csrf)
    principal = require(request, USER_ROLES)
    portal = portal_of(request)
    config = portal.config
    current = views_portal.account_view(principal.login, uow=portal.uow(), today=date.today())
    assert current is not None  # noqa: S101 (require() read this user a moment ago)
    result: OperationResult | None = None
    notice = None
    if phone.strip() and phone.strip() != (current.phone or ""):
        result = update_contact(
            UpdateContact(
                request_key=f"portal-contact:{uuid.uuid4()}",
                actor="portal",
                username=principal.login,
                phone=phone,
            ),
            uow=portal.uow(),
            today=date.today(),
        )
        if result.ok:
            notice = text("details_saved", lang_of(request))
    if email.strip() and email.strip().lower() != current.email.lower():
        asked, token = portal_people.request_email_change(principal.login, email, uow=portal.uow())
        if not asked.ok or token is None:
            result = asked
        else:
            new_email = str(asked.data["new_email"])
            tasks.add_task(
                mail.send_link,
                config,
                "email_change",
                new_email,
                {
                    "name": f"{current.first_name} {current.last_name}",
                    "link": f"{config.public_url}/details/confirm?token={token}",
                    "valid_hours": int(LINK_LIFETIME.total_seconds() // 3600),
                },
            )
            notice = text("email_link_sent", lang_of(request), email=new_email)
    return _details(request, principal.login, result=result, notice=notice)


@router.get("/details/confirm")
def confirm_email_page(request: Request, token: str = "") -> Response:
    """The page a confirmation link opens: one button to confirm the new address."""
    change = portal_people.email_change_of(token, uow=portal_of(request).uow())
    return render(request, "confirm_email.html.j2", token=token, change=change, done=False)


@router.post("/details/confirm")
def confirm_email(request: Request, token: Field = "", csrf: Field = "") -> Response:
    """Change the e-mail to the address the link was sent to (whoever holds that mailbox)."""
    check_csrf(request, csrf)
    portal = portal_of(request)
    change = portal_people.email_change_of(token, uow=portal.uow())
    if change is None:
        return render(request, "confirm_email.html.j2", token=token, change=None, done=False)
    result = update_contact(
        UpdateContact(
            request_key=f"portal-email:{change.token_id}",
            actor="portal",
            username=change.username,
            email=change.new_email,
        ),
        uow=portal.uow(),
        today=date.today(),
    )
    if result.ok:
        portal_people.spend_token(change.token_id, uow=portal.uow())
    return render(
        request, "confirm_email.html.j2", token=token, change=change, done=result.ok, result=result
    )
