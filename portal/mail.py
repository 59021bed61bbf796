"""Mail the portal sends itself: links whose token must never rest in the outbox in clear.

Everything else (reset links to users, invoices) goes through the outbox; `deliver_outbox` sends
it at once after a change, so the portal works even without serve running beside it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifications.delivery import deliver_pending
from notifications.render import RenderedMail
from notifications.smtp import build_message
from portal.config import PortalConfig

log = logging.getLogger(__name__)
MAIL_TEMPLATES = Path(__file__).parent / "templates" / "mail"
_mail_env = Environment(
    loader=FileSystemLoader(MAIL_TEMPLATES),
    autoescape=select_autoescape(["html.j2"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render_mail(name: str, context: dict[str, Any]) -> RenderedMail:
    """The portal mail `name` (`<name>.txt.j2` and `.html.j2`; the first line is the subject)."""
    text = _mail_env.get_template(f"{name}.txt.j2").render(**context)
    subject_line, _, body = text.partition("\n")
    html = _mail_env.get_template(f"{name}.html.j2").render(**context)
    return RenderedMail(subject_line.removeprefix("Subject: ").strip(), body.lstrip(), html)


async def send_link(
    config: PortalConfig, name: str, recipient: str, context: dict[str, Any]
) -> bool:
    """Send one link mail now; False (and a log line without the address) when it failed."""
    transport = config.transport_factory()
    try:
        message = build_message(
            mail_from=transport.mail_from, recipient=recipient, rendered=render_mail(name, context)
        )
        await transport.send(message)
    except Exception as exc:  # the visitor is told to try again; the log names no person
        log.error("portal mail %s failed (%s)", name, type(exc).__name__)
        return False
    finally:
        await transport.close()
    return True


async def deliver_outbox(config: PortalConfig, uow_factory: Any) -> None:
    """Send what the outbox holds now (what the change just queued, and anything else due)."""
    try:
        await deliver_pending(
            uow_factory=uow_factory,
            transport=config.transport_factory(),
            home=config.home,
            reset_url=config.reset_url,
            login_url=config.login_url,
        )
    except Exception as exc:  # serve's housekeeping sends it later
        log.error("portal outbox delivery failed (%s)", type(exc).__name__)
