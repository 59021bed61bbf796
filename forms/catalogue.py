"""The seven application forms of FORMS.md: codes, titles, fields, labels and value kinds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a field's text is normalized (forms.values) — rules.py maps each kind to its normalizer.
Kind = Literal[
    "text",
    "reg_no",
    "personal_code",
    "email",
    "phone",
    "date",
    "month_or_date",
    "money",
    "iban",
    "swift",
    "vat_no",
    "action",
]


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field: its key in the parse result, its printed labels, its kind and whether required."""

    key: str
    label_lv: str
    label_en: str
    kind: Kind = "text"
    required: bool = False
    max_length: int | None = None

    @property
    def label(self) -> str:
        """Both labels as the blank forms print them: `LV / EN`."""
        return f"{self.label_lv} / {self.label_en}"


@dataclass(frozen=True, slots=True)
class TableDef:
    """The users table of user_add and user_block: a title, columns, row limits."""

    key: str
    title_lv: str
    title_en: str
    columns: tuple[FieldDef, ...]
    min_rows: int = 1
    max_rows: int = 20
    blank_rows: int = 5


@dataclass(frozen=True, slots=True)
class FormDef:
    """One application form: its code, Latvian and English titles, fields and optional table."""

    code: str
    title_lv: str
    title_en: str
    fields: tuple[FieldDef, ...]
    table: TableDef | None = None

    @property
    def title(self) -> str:
        """Both titles as printed: `LV / EN`."""
        return f"{self.title_lv} / {self.title_en}"

    @property
    def specific_fields(self) -> tuple[FieldDef, ...]:
        """The form's own fields, without the common block."""
        return self.fields[len(COMMON_FIELDS) :]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key of the parse result's `fields`, the table key last."""
        keys = tuple(f.key for f in self.fields)
        return (*keys, self.table.key) if self.table else keys

    def field(self, key: str) -> FieldDef:
        """The field with this key (KeyError when the form has none)."""
        for candidate in self.fields:
            if candidate.key == key:
                return candidate
        raise KeyError(key)


FORM_CODE_LABEL = ("Veidlapas kods", "Form code")

COMMON_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("customer_name", "Pasūtītāja nosaukums", "Customer name", "text", True, 200),
    FieldDef("reg_no", "Reģistrācijas numurs", "Registration number", "reg_no", True),
    FieldDef("contract_no", "Līguma numurs", "Contract number", "text", True, 32),
    FieldDef(
        "submitter_name",
        "Pilnvarotā persona (vārds, uzvārds)",
        "Authorized person (name, surname)",
        "text",
        True,
        200,
    ),
    FieldDef("submitter_position", "Amats", "Position", "text", False, 200),
    FieldDef("submitter_email", "Kontaktpersonas e-pasts", "Contact e-mail", "email"),
    FieldDef("submitter_phone", "Kontaktpersonas tālrunis", "Contact phone", "phone"),
    FieldDef("signed_date", "Datums", "Date", "date", True),
)

_TEXT = 200


def _form(
    code: str,
    title_lv: str,
    title_en: str,
    specific: tuple[FieldDef, ...],
    table: TableDef | None = None,
) -> FormDef:
    return FormDef(code, title_lv, title_en, COMMON_FIELDS + specific, table)


FORMS: tuple[FormDef, ...] = (
    _form(
        "user_change",
        "Iesniegums par lietotāja maiņu",
        "Application for change of user",
        (
            FieldDef(
                "old_username",
                "Esošā lietotāja lietotājvārds",
                "Current user's username",
                "text",
                True,
                64,
            ),
            FieldDef(
                "old_user_name",
                "Esošā lietotāja vārds, uzvārds",
                "Current user's name, surname",
                "text",
                True,
                _TEXT,
            ),
            FieldDef(
                "new_first_name",
                "Jaunā lietotāja vārds",
                "New user's first name",
                "text",
                True,
                _TEXT,
            ),
            FieldDef(
                "new_last_name",
                "Jaunā lietotāja uzvārds",
                "New user's surname",
                "text",
                True,
                _TEXT,
            ),
            FieldDef(
                "new_personal_code",
                "Jaunā lietotāja personas kods",
                "New user's personal code",
                "personal_code",
            ),
            FieldDef(
                "new_position", "Jaunā lietotāja amats", "New user's position", "text", False, _TEXT
            ),
            FieldDef("new_email", "Jaunā lietotāja e-pasts", "New user's e-mail", "email", True),
            FieldDef("new_phone", "Jaunā lietotāja tālrunis", "New user's phone", "phone"),
        ),
    ),
    _form(
        "user_add",
        "Iesniegums par jauna lietotāja reģistrēšanu",
        "Application for registration of a new user",
        (),
        TableDef(
            "users",
            "Jaunie lietotāji",
            "New users",
            (
                FieldDef("first_name", "Vārds", "First name", "text", True, _TEXT),
                FieldDef("last_name", "Uzvārds", "Surname", "text", True, _TEXT),
                FieldDef("personal_code", "Personas kods", "Personal code", "personal_code"),
                FieldDef("position", "Amats", "Position", "text", False, _TEXT),
                FieldDef("email", "E-pasts", "E-mail", "email", True),
                FieldDef("phone", "Tālrunis", "Phone", "phone"),
            ),
        ),
    ),
    _form(
        "user_block",
        "Iesniegums par lietotāja bloķēšanu",
        "Application for blocking a user",
        (FieldDef("block_from", "Bloķēt no", "Block from", "date"),),
        TableDef(
            "users",
            "Bloķējamie lietotāji",
            "Users to block",
            (
                FieldDef("name", "Vārds, uzvārds", "Name, surname", "text", False, _TEXT),
                FieldDef("username", "Lietotājvārds", "Username", "text", True, 64),
            ),
        ),
    ),
    _form(
        "fee_increase",
        "Iesniegums par abonentmaksas palielināšanu",
        "Application for increasing the subscription fee",
        (
            FieldDef(
                "current_fee",
                "Pašreizējā abonentmaksa (EUR mēnesī)",
                "Current subscription fee (EUR per month)",
                "money",
            ),
            FieldDef(
                "new_fee",
                "Jaunā abonentmaksa (EUR mēnesī)",
                "New subscription fee (EUR per month)",
                "money",
                True,
            ),
            FieldDef("effective_from", "Spēkā no", "Effective from", "month_or_date"),
        ),
    ),
    _form(
        "requisites_change",
        "Iesniegums par uzņēmuma rekvizītu maiņu",
        "Application for change of company details",
        (
            FieldDef("new_name", "Jaunais nosaukums", "New name", "text", False, _TEXT),
            FieldDef(
                "new_address", "Jaunā juridiskā adrese", "New legal address", "text", False, 300
            ),
            FieldDef("new_vat_no", "PVN maksātāja numurs", "VAT number", "vat_no"),
            FieldDef("new_bank", "Banka", "Bank", "text", False, _TEXT),
            FieldDef("new_swift", "SWIFT/BIC kods", "SWIFT/BIC code", "swift"),
            FieldDef("new_iban", "Konta numurs (IBAN)", "Account number (IBAN)", "iban"),
            FieldDef("effective_from", "Spēkā no", "Effective from", "date"),
        ),
    ),
    _form(
        "contract_suspend",
        "Iesniegums par līguma darbības pārtraukšanu / atjaunošanu",
        "Application for suspending or resuming the contract",
        (
            FieldDef("action", "Darbība", "Action", "action", True),
            FieldDef("date_from", "No datuma", "From date", "date"),
            FieldDef("date_to", "Līdz datumam", "Until date", "date"),
        ),
    ),
    _form(
        "einvoice_access",
        "Iesniegums par piekļuvi elektroniskajiem rēķiniem",
        "Application for access to electronic invoices",
        (
            FieldDef(
                "accountant_first_name",
                "Grāmatveža vārds",
                "Accountant's first name",
                "text",
                True,
                _TEXT,
            ),
            FieldDef(
                "accountant_last_name",
                "Grāmatveža uzvārds",
                "Accountant's surname",
                "text",
                True,
                _TEXT,
            ),
            FieldDef(
                "accountant_email", "Grāmatveža e-pasts", "Accountant's e-mail", "email", True
            ),
            FieldDef("accountant_phone", "Grāmatveža tālrunis", "Accountant's phone", "phone"),
        ),
    ),
)

FORM_CODES: tuple[str, ...] = tuple(form.code for form in FORMS)
_BY_CODE = {form.code: form for form in FORMS}

# The contract_suspend choice words as printed beside the tick boxes.
ACTION_CHOICES: tuple[tuple[str, str, str], ...] = (
    ("suspend", "pārtraukt", "suspend"),
    ("resume", "atjaunot", "resume"),
)


def form_by_code(code: str) -> FormDef | None:
    """The form with this code, or None when the catalogue has none."""
    return _BY_CODE.get(code)


def form_titles(code: str | None) -> tuple[str, str]:
    """The form's Latvian and English titles: the code itself when unknown, empty for none."""
    form = _BY_CODE.get(code or "")
    if form is None:
        return (code or "", code or "")
    return (form.title_lv, form.title_en)


def field_labels(code: str | None, field: str | None) -> tuple[str, str]:
    """The printed Latvian and English label of a result key, or empty strings when none.

    A table cell `users[2].email` is named as the rules name it: the table's title, the row,
    the column (`Jaunie lietotāji, 2. rinda, E-pasts`); the table itself by its title.
    """
    form = _BY_CODE.get(code or "")
    if form is None or not field:
        return ("", "")
    base, _, column = field.partition(".")
    key, _, index = base.partition("[")
    if form.table is not None and key == form.table.key:
        table = form.table
        row = index.rstrip("]")
        for spec in table.columns:
            if column and spec.key == column:
                if not row.isdigit():
                    return (spec.label_lv, spec.label_en)
                return (
                    f"{table.title_lv}, {row}. rinda, {spec.label_lv}",
                    f"{table.title_en}, row {row}, {spec.label_en}",
                )
        return (table.title_lv, table.title_en)
    for spec in form.fields:
        if spec.key == key:
            return (spec.label_lv, spec.label_en)
    return ("", "")
