r"""Client text made safe to store and to mail: no NUL, no other C0 controls, no lone surrogates.

An RTF `\u0?` gives a NUL, which PostgreSQL refuses in text; `\u55296?` gives a lone
surrogate, which no UTF-8 encoder (the database driver, the mail writer, the terminal) accepts.
Form values holding either are cleaned *and* refused with a field error, so the application is
invalid and the client is told which field to fix; other text (file names, error messages that
quote a value) is only cleaned. Tab and newline are kept; a carriage return becomes a newline.
"""

from __future__ import annotations

import re
from typing import Any

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """The text without unsafe characters (CR and CRLF become LF)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("", text)


def clean_value(value: Any) -> Any:
    """Any JSON-like value with every string in it cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    return value


def _issue(key: str) -> dict[str, Any]:
    return {
        "field": key,
        "code": "unsafe_characters",
        "message_lv": (
            "Vērtībā ir neatļautas vadības vai bojātas rakstzīmes; ierakstiet to vēlreiz "
            "(nevis kopējot no cita dokumenta)."
        ),
        "message_en": (
            "The value holds control or broken characters; type it again (rather than "
            "copying it from another document)."
        ),
    }


def _walk(value: Any, key: str, issues: list[dict[str, Any]]) -> Any:
    if isinstance(value, str):
        cleaned = clean_text(value)
        if cleaned != value.replace("\r\n", "\n").replace("\r", "\n"):
            issues.append(_issue(key))
        return cleaned
    if isinstance(value, dict):
        return {
            clean_text(str(k)): _walk(v, f"{key}.{k}" if key else str(k), issues)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_walk(v, f"{key}[{i}]", issues) for i, v in enumerate(value, start=1)]
    return value


def clean_fields(fields: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Form fields cleaned, and one `unsafe_characters` error per field that needed it."""
    issues: list[dict[str, Any]] = []
    cleaned = _walk(fields, "", issues)
    return cleaned, issues
