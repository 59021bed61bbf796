"""Blank forms out, DOCX and RTF: the same layout, empty or filled with given values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from forms.blank_docx import render_docx
from forms.blank_rtf import render_rtf
from forms.catalogue import FormDef, form_by_code
from forms.layout import LabelStyle


def _resolve(form_type: str) -> FormDef:
    form = form_by_code(form_type)
    if form is None:
        raise ValueError(f"unknown form type {form_type!r}")
    return form


def render_form(
    form_type: str,
    fmt: Literal["docx", "rtf"],
    values: Mapping[str, Any] | None = None,
    *,
    labels: LabelStyle = "both",
    content_controls: bool = False,
    send_to: str | None = None,
) -> bytes:
    """The blank form (values None), or the same layout filled with parse-result values.

    `labels` prints LV and EN (default), LV only, EN only, or LV without diacritics;
    `content_controls` puts DOCX values inside Word content controls; `send_to` names the
    address in the note. Raises ValueError for an unknown form type or format.
    """
    form = _resolve(form_type)
    given: Mapping[str, Any] = values or {}
    if fmt == "docx":
        return render_docx(
            form, given, labels=labels, content_controls=content_controls, send_to=send_to
        )
    if fmt == "rtf":
        return render_rtf(form, given, labels=labels, send_to=send_to)
    raise ValueError(f"unknown format {fmt!r}: docx or rtf")
