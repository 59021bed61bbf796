"""E-mails from templates: `<name>.txt.j2` (first line `Subject: …`) and `<name>.html.j2`.

Latvian first, English second, in the provider's words (notifications.glossary) and each
language's number and date formats (notifications.formats filters). HTML is autoescaped, so a
company name with `<` or `&` in it cannot inject markup; the plain-text part is not escaped.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape

from notifications.formats import FILTERS
from notifications.glossary import GLOSSARY

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
    "client_answer",
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
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # Escape every `*.html.j2`; the text part is not markup.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    env.filters.update(FILTERS)
    env.filters["text_lines"] = text_lines
    # The provider's terms: `{{ g.application.acc }}` is "iesniegumu", `.en` "application".
    env.globals["g"] = GLOSSARY
    return env


def text_lines(text: str) -> list[str]:
    """The ` - ` lines of a text macro's output as plain strings, so HTML output escapes them.

    A macro's output is marked safe when an HTML template calls it, although the text macro
    never escaped the client's values inside; plain `str` copies are escaped when printed.
    """
    return [
        str.__str__(line).strip().removeprefix("- ") for line in text.split("\n") if line.strip()
    ]


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
