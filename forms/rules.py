"""Validation: raw field texts → normalized values, errors and warnings in Latvian and English.

Only rules that need nothing but the document and today's date live here (FORMS.md, "Reading
and checking are two steps"); rules that need the books run in the request's flow. Every
message names the field by its label and says what was found and what is expected; the
Latvian and English messages are each complete alone.

Document-level error codes: `unsupported_format`, `unreadable`, `too_large`, `unsafe_content`,
`unknown_form`. Field error codes: `required`, `conflicting_values`, the normalizers' codes
(`invalid_reg_no`, `invalid_email`, …), `future_date`, `date_order`, `no_users`,
`too_many_users`, `duplicate_email`, `fee_not_positive`, `fee_not_increased`,
`nothing_to_change`, `iban_required`, `ambiguous_choice`. Warnings: `old_date`,
`duplicate_username`, `iban_swift_mismatch`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from forms import values
from forms.catalogue import FieldDef, FormDef, Kind
from forms.labels import Extracted, fold
from forms.messages import issue
from forms.result import Issue, ParseResult

OLD_DATE_DAYS = 60

_NORMALIZERS: dict[Kind, Callable[[str], str]] = {
    "reg_no": values.normalize_reg_no,
    "personal_code": values.normalize_personal_code,
    "email": values.normalize_email,
    "phone": values.normalize_phone,
    "iban": values.normalize_iban,
    "swift": values.normalize_swift,
    "vat_no": values.normalize_vat_no,
    "date": lambda text: values.parse_date(text).isoformat(),
    "month_or_date": lambda text: values.parse_month_or_date(text).isoformat(),
    "money": lambda text: str(values.parse_money(text)),
    "action": values.normalize_action,
}


class _Checker:
    def __init__(self, form: FormDef, extracted: Extracted, today: date) -> None:
        self.form = form
        self.raw = extracted
        self.today = today
        self.fields: dict[str, Any] = dict.fromkeys(f.key for f in form.fields)
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    def error(self, key: str | None, code: str, lv: str, en: str) -> None:
        self.errors.append(issue(key, code, lv, en))

    def warn(self, key: str | None, code: str, lv: str, en: str) -> None:
        self.warnings.append(issue(key, code, lv, en))

    def normalize(self, key: str, definition: FieldDef, text: str, labels: tuple[str, str]) -> Any:
        try:
            if definition.kind == "text":
                return values.normalize_text(text, max_length=definition.max_length)
            return _NORMALIZERS[definition.kind](text)
        except values.InvalidValue as problem:
            lv, en = problem.describe(labels[0], labels[1], text)
            self.error(key, problem.code, lv, en)
            return None

    def missing(self, key: str, labels: tuple[str, str]) -> None:
        self.error(
            key,
            "required",
            f"{labels[0]}: nav norādīts — lauks ir obligāts",
            f"{labels[1]}: not given — this field is required",
        )

    def run(self) -> ParseResult:
        for definition in self.form.fields:
            labels = (definition.label_lv, definition.label_en)
            text = self.raw.values.get(definition.key)
            if text is None:
                if definition.required:
                    self.missing(definition.key, labels)
                continue
            self.fields[definition.key] = self.normalize(definition.key, definition, text, labels)
            if definition.key in self.raw.conflicts:
                other = self.raw.conflicts[definition.key]
                self.error(
                    definition.key,
                    "conflicting_values",
                    f'{labels[0]}: norādīts divreiz ar dažādām vērtībām ("{text}" un "{other}")'
                    " — atstājiet vienu",
                    f'{labels[1]}: given twice with different values ("{text}" and "{other}")'
                    " — leave one",
                )
                self.fields[definition.key] = None
        self.signed_date()
        if self.form.table is not None:
            self.table()
        extra = _FORM_RULES.get(self.form.code)
        if extra is not None:
            extra(self)
        return ParseResult(
            form_type=self.form.code, fields=self.fields, errors=self.errors, warnings=self.warnings
        )

    def date_of(self, key: str) -> date | None:
        value = self.fields.get(key)
        return date.fromisoformat(value) if isinstance(value, str) else None

    def signed_date(self) -> None:
        signed = self.date_of("signed_date")
        if signed is None:
            return
        definition = self.form.field("signed_date")
        shown = signed.strftime("%d.%m.%Y")
        if signed > self.today:
            self.error(
                "signed_date",
                "future_date",
                f'{definition.label_lv}: "{shown}" — datums nevar būt nākotnē',
                f'{definition.label_en}: "{shown}" — the date cannot be in the future',
            )
        elif signed < self.today - timedelta(days=OLD_DATE_DAYS):
            self.warn(
                "signed_date",
                "old_date",
                f'{definition.label_lv}: "{shown}" — iesniegums parakstīts pirms vairāk nekā'
                f" {OLD_DATE_DAYS} dienām",
                f'{definition.label_en}: "{shown}" — the application was signed more than'
                f" {OLD_DATE_DAYS} days ago",
            )

    def table(self) -> None:
        table = self.form.table
        assert table is not None  # noqa: S101 - run() calls this only for table forms
        rows: list[dict[str, Any]] = []
        filled = [(number, cells) for number, cells in self.raw.table_rows if cells]
        title_lv, title_en = table.title_lv, table.title_en
        if not filled:
            self.error(
                table.key,
                "no_users",
                f"{title_lv}: tabulā nav neviena lietotāja — norādiet vismaz vienu",
                f"{title_en}: the table lists no user — give at least one",
            )
        elif len(filled) > table.max_rows:
            self.error(
                table.key,
                "too_many_users",
                f"{title_lv}: {len(filled)} lietotāji — vienā veidlapā ne vairāk kā"
                f" {table.max_rows}",
                f"{title_en}: {len(filled)} users — at most {table.max_rows} in one form",
            )
        for number, cells in filled:
            row: dict[str, Any] = {}
            for column in table.columns:
                key = f"{table.key}[{number}].{column.key}"
                labels = (
                    f"{title_lv}, {number}. rinda, {column.label_lv}",
                    f"{title_en}, row {number}, {column.label_en}",
                )
                text = cells.get(column.key)
                if text is None:
                    row[column.key] = None
                    if column.required:
                        self.missing(key, labels)
                else:
                    row[column.key] = self.normalize(key, column, text, labels)
            rows.append(row)
        self.fields[table.key] = rows
        self.duplicates(filled, rows)

    def duplicates(
        self, filled: list[tuple[int, dict[str, str]]], rows: list[dict[str, Any]]
    ) -> None:
        table = self.form.table
        assert table is not None  # noqa: S101 - called from table()
        seen: dict[str, int] = {}
        seen_usernames: dict[str, int] = {}
        for (number, _), row in zip(filled, rows, strict=True):
            if "email" in row and isinstance(row["email"], str):
                email = row["email"].lower()
                if email in seen:
                    self.error(
                        f"{table.key}[{number}].email",
                        "duplicate_email",
                        f'{table.title_lv}, {number}. rinda, E-pasts: "{row["email"]}" —'
                        f" jau norādīts {seen[email]}. rindā; katram lietotājam vajag savu e-pastu",
                        f'{table.title_en}, row {number}, E-mail: "{row["email"]}" —'
                        f" already given in row {seen[email]}; each user needs their own e-mail",
                    )
                else:
                    seen[email] = number
            if "username" in row and isinstance(row["username"], str):
                username = fold(row["username"])
                if username in seen_usernames:
                    self.warn(
                        f"{table.key}[{number}].username",
                        "duplicate_username",
                        f'{table.title_lv}, {number}. rinda, Lietotājvārds: "{row["username"]}" —'
                        f" jau norādīts {seen_usernames[username]}. rindā",
                        f'{table.title_en}, row {number}, Username: "{row["username"]}" — already'
                        f" given in row {seen_usernames[username]}",
                    )
                else:
                    seen_usernames[username] = number


def _label(form: FormDef, key: str) -> tuple[str, str]:
    definition = form.field(key)
    return definition.label_lv, definition.label_en


def _fee_rules(check: _Checker) -> None:
    new_fee, current = check.fields.get("new_fee"), check.fields.get("current_fee")
    if new_fee is None:
        return
    lv, en = _label(check.form, "new_fee")
    if Decimal(new_fee) <= 0:
        check.error(
            "new_fee",
            "fee_not_positive",
            f'{lv}: "{new_fee}" — jābūt lielākai par 0',
            f'{en}: "{new_fee}" — must be more than 0',
        )
    elif current is not None and Decimal(new_fee) <= Decimal(current):
        check.error(
            "new_fee",
            "fee_not_increased",
            f'{lv}: "{new_fee}" — jābūt lielākai par pašreizējo ({current}); samazinājums ir'
            " līguma grozījums",
            f'{en}: "{new_fee}" — must be more than the current fee ({current}); a decrease is a'
            " contract amendment",
        )


def _requisites_rules(check: _Checker) -> None:
    new_keys = [d.key for d in check.form.specific_fields if d.key.startswith("new_")]
    if all(check.raw.values.get(key) is None for key in new_keys):
        check.error(
            None,
            "nothing_to_change",
            "Nav norādīts neviens jauns rekvizīts — aizpildiet vismaz vienu lauku ar jauno vērtību",
            "No new company detail is given — fill in at least one field with the new value",
        )
        return
    has = check.raw.values.get
    if (has("new_bank") is not None or has("new_swift") is not None) and has("new_iban") is None:
        lv, en = _label(check.form, "new_iban")
        check.error(
            "new_iban",
            "iban_required",
            f"{lv}: nav norādīts — mainot banku vai SWIFT kodu, jānorāda arī jaunais konts",
            f"{en}: not given — a change of bank or SWIFT code needs the new account number too",
        )
    iban, swift = check.fields.get("new_iban"), check.fields.get("new_swift")
    lv_iban = isinstance(iban, str) and iban.startswith("LV")
    if lv_iban and isinstance(iban, str) and isinstance(swift, str) and iban[4:8] != swift[:4]:
        lv, en = _label(check.form, "new_swift")
        check.warn(
            "new_swift",
            "iban_swift_mismatch",
            f'{lv}: "{swift}" — neatbilst konta {iban} bankas kodam ({iban[4:8]})',
            f'{en}: "{swift}" — does not match the bank code of account {iban} ({iban[4:8]})',
        )


def _suspend_rules(check: _Checker) -> None:
    start, end = check.date_of("date_from"), check.date_of("date_to")
    if end is None:
        return
    lv, en = _label(check.form, "date_to")
    shown = end.strftime("%d.%m.%Y")
    if start is not None and end <= start:
        check.error(
            "date_to",
            "date_order",
            f'{lv}: "{shown}" — jābūt vēlākam par sākuma datumu ({start.strftime("%d.%m.%Y")})',
            f'{en}: "{shown}" — must be after the start date ({start.strftime("%d.%m.%Y")})',
        )
    elif start is None and end <= check.today:
        check.error(
            "date_to",
            "date_order",
            f'{lv}: "{shown}" — jābūt nākotnē',
            f'{en}: "{shown}" — must be in the future',
        )


_FORM_RULES: dict[str, Callable[[_Checker], None]] = {
    "fee_increase": _fee_rules,
    "requisites_change": _requisites_rules,
    "contract_suspend": _suspend_rules,
}


def check_form(form: FormDef, extracted: Extracted, *, today: date) -> ParseResult:
    """The parse result of one recognized form: normalized fields, errors and warnings."""
    return _Checker(form, extracted, today).run()
