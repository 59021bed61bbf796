"""The delivery loop: claim due outbox rows (handlers), render and send them (notifications).

handlers/outbox.py owns the rows and their states, notifications/ renders and transports; this
loop joins the two and adds what only the settings know: the sign-in and reset pages. A failed
send marks the row `failed` (retried later with backoff) and never touches the change that wrote
it. Each row is tried at most once per pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.settings import Settings
from handlers.db import UnitOfWork
from handlers.outbox import ClaimedMail, RetryPolicy, claim, finish
from notifications.render import render
from notifications.smtp import (
    DeliveryUnknownError,
    Document,
    Transport,
    build_message,
    mail_domain,
    transport_from,
)

__all__ = ["DeliveryReport", "deliver_pending", "deliver_pending_sync", "transport_for"]

CLAIM_BATCH = 50
# Files made for one mail at send time (the invoice PDF), from the claimed row.
DocumentMaker = Callable[[ClaimedMail], Sequence[Document]]
# The settings' own defaults, for callers (tests, benches) that pass no links.
DEFAULT_LOGIN_URL: str = Settings.model_fields["login_url"].default
DEFAULT_RESET_URL: str = Settings.model_fields["password_reset_url"].default
DEFAULT_SHARED: dict[str, Any] = {"provider_name": Settings.model_fields["provider_name"].default}


@dataclass
class DeliveryReport:
    """What one delivery pass did; `int(report)` is the number sent."""

    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __int__(self) -> int:
        return self.sent

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.failed} failed"


def transport_for(settings: Settings) -> Transport:
    """The configured transport: the SMTP relay when a host is set, else home/outbox files."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return transport_from(
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        tls=settings.smtp_tls,
        username=settings.smtp_username,
        password=password,
        timeout=settings.smtp_timeout_seconds,
        mail_from=settings.mail_from,
        outbox_dir=settings.outbox_dir,
    )


def outbox_sender(
    settings: Settings, application_id: int | None = None
) -> Callable[[Callable[[], UnitOfWork]], Awaitable[DeliveryReport]]:
    """One delivery pass as configured, on the caller's units of work (serve, CLI, portal).

    `application_id`: only that application's mail.
    """
    # Imported here: flows.invoices reads the books through flows.common.
    from flows.invoices import invoice_attachments

    async def send(uow_factory: Callable[[], UnitOfWork]) -> DeliveryReport:
        return await deliver_pending(
            application_id=application_id,
            uow_factory=uow_factory,
            transport=transport_for(settings),
            home=settings.home,
            reset_url=settings.password_reset_url,
            login_url=settings.login_url,
            shared_context=shared_context(settings),
            documents=invoice_attachments(settings),
        )

    return send


def shared_context(settings: Settings) -> dict[str, Any]:
    """What every mail may name, from the settings: the provider."""
    return {
        "provider_name": settings.provider_name,
        "provider_bank": settings.provider_bank,
        "provider_iban": settings.provider_iban,
    }


def _context(
    mail: ClaimedMail, login_url: str, reset_url: str, shared: Mapping[str, Any]
) -> dict[str, Any]:
    """The row's context with this send's secrets, the links and what every mail names."""
    context = {**shared, **mail.context, **mail.secrets}
    if mail.template == "credentials":
        context["login_url"] = login_url
    if "token" in mail.secrets:
        context["reset_url"] = f"{reset_url}?token={mail.secrets['token']}"
    return context


def _attachment_paths(home: Path, names: tuple[str, ...]) -> list[Path]:
    paths = []
    for name in names:
        path = Path(name)
        paths.append(path if path.is_absolute() else home / path)
    return paths


@dataclass(frozen=True)
class _Send:
    """What one pass needs for every mail: the transport and the settings' values."""

    transport: Transport
    home: Path
    login_url: str
    reset_url: str
    shared: Mapping[str, Any]
    documents: DocumentMaker | None


async def _send_one(mail: ClaimedMail, send: _Send) -> tuple[str | None, bool]:
    """None when sent, else the error text (kept in the row, without the message body).

    The flag says the outcome is unknown: the data left and no answer came back.
    """
    try:
        rendered = render(
            mail.template, _context(mail, send.login_url, send.reset_url, send.shared)
        )
        message = build_message(
            mail_from=send.transport.mail_from,
            recipient=mail.recipient,
            rendered=rendered,
            cc=mail.cc,
            attachments=_attachment_paths(send.home, mail.attachments),
            message_id=mail.message_id,
            in_reply_to=mail.in_reply_to,
            references=mail.references,
            documents=send.documents(mail) if send.documents else (),
        )
        await send.transport.send(message)
    except DeliveryUnknownError as exc:
        return f"{type(exc).__name__}: {exc}", True
    except Exception as exc:  # any failure is recorded on the row and retried
        return f"{type(exc).__name__}: {exc}", False
    return None, False


async def deliver_pending(
    *,
    uow_factory: Callable[[], UnitOfWork],
    transport: Transport,
    home: Path,
    limit: int | None = None,
    max_attempts: int = 8,
    retry_base_seconds: float = 60.0,
    lease_seconds: float = 600.0,
    reset_url: str = DEFAULT_RESET_URL,
    login_url: str = DEFAULT_LOGIN_URL,
    shared_context: Mapping[str, Any] | None = None,
    documents: DocumentMaker | None = None,
    application_id: int | None = None,
) -> DeliveryReport:
    """Send what is due in the outbox (at most `limit` rows); each row is tried once per pass.

    `application_id`: only that application's mail (see `handlers.outbox.claim`).

    `shared_context` is what every template may name (the provider); `documents` makes the
    files a mail carries at send time (the invoice PDF).
    """
    policy = RetryPolicy(max_attempts, retry_base_seconds, lease_seconds)
    send = _Send(transport, home, login_url, reset_url, shared_context or DEFAULT_SHARED, documents)
    domain = mail_domain(transport.mail_from)
    report = DeliveryReport()
    tried: set[int] = set()
    try:
        while limit is None or len(tried) < limit:
            batch = CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit - len(tried))
            claimed = claim(
                uow_factory(),
                batch=batch,
                skip=tried,
                policy=policy,
                message_id_domain=domain,
                application_id=application_id,
            )
            if not claimed:
                break
            for mail in claimed:
                tried.add(mail.row_id)
                error, unknown = await _send_one(mail, send)
                finish(uow_factory(), mail, error, unknown=unknown, policy=policy)
                if error is None:
                    report.sent += 1
                else:
                    report.failed += 1
                    report.errors.append(f"outbox {mail.row_id}: {error}")
    finally:
        await transport.close()
    return report


def deliver_pending_sync(
    *,
    uow_factory: Callable[[], UnitOfWork],
    transport: Transport,
    home: Path,
    limit: int | None = None,
    **options: Any,
) -> DeliveryReport:
    """`deliver_pending` for synchronous callers (the CLI); not for use inside an event loop."""
    return asyncio.run(
        deliver_pending(
            uow_factory=uow_factory, transport=transport, home=home, limit=limit, **options
        )
    )
