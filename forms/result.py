"""The parse result: what `forms/` makes of one document (FORMS.md, "The parse result")."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Issue(BaseModel):
    """One problem found in a form: an error stops the request, a warning only informs staff."""

    model_config = ConfigDict(frozen=True)

    field: str | None
    code: str
    message_lv: str
    message_en: str


class ParseResult(BaseModel):
    """One document read: its type, normalized values, errors and warnings."""

    form_type: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    errors: list[Issue] = Field(default_factory=list)
    warnings: list[Issue] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the document has no errors and may go on to be checked against the books."""
        return self.form_type is not None and not self.errors
