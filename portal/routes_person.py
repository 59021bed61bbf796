"""An authorized person's pages: the contract's users, my applications, blank forms, upload.

An uploaded form takes the e-mail path exactly: it is wrapped in a message from the person's
address, stored raw, parsed, checked and recorded by `intake.pipeline.process_message`; serve's
intake loop then starts its request run like any other `received` application. The sign-in is
the sender's proof, so the message carries our own Authentication-Results saying so.
"""

from __future__ import annotations

import posixpath
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response

import forms
from forms.catalogue import FORMS, form_by_code
from handlers import views_portal
from handlers.portal_people import Principal
from intake.pipeline import process_message
from intake.senders import Trust, Verification
from portal import mail
from portal.i18n import text
from portal.web import PERSON_ROLES, check_csrf, lang_of, portal_of, render, require

router = APIRouter()
AUTHSERV_ID = "docintake-portal"
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "rtf": "application/rtf",
}


@router.get("/contract")
def contract(request: Request) -> Response:
    """The users of the person's contract."""
    principal = require(request, PERSON_ROLES)
    view = views_portal.contract_view(
        principal.contract_no, uow=portal_of(request).uow(), today=date.today()
    )
    return render(request, "contract.html.j2", contract=view)


def _applications(request: Request, principal: Principal, **context: Any) -> Response:
    rows = views_portal.contract_applications(
        principal.contract_no, uow=portal_of(request).uow(), sender=principal.login
    )
    context.setdefault("notice", None)
    context.setdefault("error", None)
    return render(request, "applications.html.j2", applications=rows, forms=FORMS, **context)


@router.get("/applications")
def applications(request: Request) -> Response:
    """Every application of the contract with its status, the blank forms, and the upload."""
    return _applications(request, require(request, PERSON_ROLES))


@router.get("/forms/{name}")
def blank_form(name: str, request: Request) -> Response:
    """A blank form to fill in (`user_add.docx`, `fee_increase.rtf`, …)."""
    require(request, PERSON_ROLES)
    code, _, fmt = name.rpartition(".")
    if form_by_code(code) is None or fmt not in MEDIA_TYPES:
        raise HTTPException(status_code=404)
    data = forms.render_form(code, "docx" if fmt == "docx" else "rtf")
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{code}.{fmt}"'},
    )


def _safe_filename(name: str | None) -> str:
    base = posixpath.basename((name or "").replace("\\", "/")).strip()
    cleaned = "".join(c for c in base if c.isprintable() and c not in '"<>|:*?')
    return cleaned[:120] or "veidlapa"


def form_message(*, sender: str, intake_address: str, filename: str, data: bytes) -> bytes:
    """The uploaded form as the e-mail the intake takes: from the signed-in person, to intake."""
    message = EmailMessage()
    # Our own verdict on top: the person proved the address by signing in to the portal.
    message["Authentication-Results"] = (
        f"{AUTHSERV_ID}; auth=pass (signed in to the portal) smtp.auth={sender}; dmarc=pass"
    )
    message["From"] = sender
    message["To"] = intake_address
    message["Subject"] = "Iesniegums portālā / Submitted in the portal"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="portal.docintake.invalid")
    message.set_content("Iesniegts portālā. / Submitted in the portal.")
    suffix = filename.rpartition(".")[2].lower()
    maintype, _, subtype = MEDIA_TYPES.get(suffix, "application/octet-stream").partition("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


@router.post("/applications")
def upload(
    request: Request,
    tasks: BackgroundTasks,
    document: Annotated[UploadFile | None, File()] = None,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Take a filled form into the intake as if it came by e-mail from this person."""
    check_csrf(request, csrf)
    principal = require(request, PERSON_ROLES)
    portal = portal_of(request)
    config = portal.config
    lang = lang_of(request)
    if document is None or not document.filename:
        return _applications(request, principal, error=text("no_file", lang))
    limit = config.limits.max_attachment_bytes
    data = document.file.read(limit + 1)
    if len(data) > limit:
        return _applications(
            request, principal, error=text("too_large", lang, mb=limit // (1024 * 1024))
        )
    raw = form_message(
        sender=principal.login,
        intake_address=config.intake_address,
        filename=_safe_filename(document.filename),
        data=data,
    )
    outcome = process_message(
        raw,
        source="portal",
        uow_factory=portal.uow,
        home=config.home,
        today=date.today(),
        staff_email=config.staff_email,
        # The person signed in: the login proves the sender, no mail server needs to.
        trust=Trust(level=Verification.off),
        limits=config.limits,
    )
    tasks.add_task(mail.deliver_outbox, config, portal.uow)
    if outcome.references:
        return _applications(
            request, principal, notice=text("uploaded", lang, refs=", ".join(outcome.references))
        )
    return _applications(
        request, principal, error=text("upload_refused", lang, reason=outcome.reason or "")
    )
