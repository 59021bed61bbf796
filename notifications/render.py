"""E-mails from templates: `<name>.txt.j2` (first line `Subject: …`) and `<name>.html.j2`.

Latvian first, English second. HTML is autoescaped, so a company name with `<` or `&` in it
cannot inject markup; the plain-text part is not escaped (it is not markup).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Every template the other packages may enqueue by name (files starting `_` are partials).
TEMPLATES: tuple[str, ...] = (
    "receipt",
    "form_rejected",
    "request_rejected",
    "unknown_sender",
    "unsupported_attachment",
    "no_form",
    "quarantined",
    "confirmation",
    "credentials",
    "topup_invoice",
    "invoice_notice",
    "password_reset",
    "approval_reminder",
    "request_expired",
)


class RenderedMail(NamedTuple):
    """A rendered e-mail: subject, plain-text body and HTML body."""

    subject: str
    text: str
    html: str


class UnknownTemplateError(LookupError):
    """No template of that name exists."""


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one Jinja environment (templates are read once per process)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # Escape every `*.html.j2`; the text part is not markup.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        keep_trailing_newline=True,
        trim_blocks=False,
    )


def render(template: str, context: dict[str, Any]) -> RenderedMail:
    """Render a template's subject, text and HTML with the given context."""
    env = environment()
    try:
        text_template = env.get_template(f"{template}.txt.j2")
        html_template = env.get_template(f"{template}.html.j2")
    except TemplateNotFound as missing:
        raise UnknownTemplateError(template) from missing
    first, _, body = text_template.render(context).partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"template {template}.txt.j2 must start with 'Subject: '")
    subject = " ".join(first.removeprefix("Subject:").split())
    return RenderedMail(subject=subject, text=body.lstrip("\n"), html=html_template.render(context))
