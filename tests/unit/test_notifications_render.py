"""Every e-mail template renders, Latvian first, the reference in the subject, HTML escaped."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.formats import day_en, day_lv, money_en, money_lv
from notifications.render import TEMPLATES, UnknownTemplateError, render
from notifications.smtp import build_message

TITLES = {"form_title_lv": "Iesniegums par lietotāja maiņu", "form_title_en": "Change of user"}
ERRORS = [
    {
        "field_label_lv": "Reģistrācijas numurs",
        "field_label_en": "Registration number",
        "message_lv": "jābūt 11 cipariem",
        "message_en": "must be 11 digits",
    }
]
CONTEXTS: dict[str, dict[str, Any]] = {
    "receipt": {"reference": "LUR-2026-000123", "customer_name": 'SIA "Ozols"', **TITLES},
    "form_rejected": {"reference": "LUR-2026-000123", "errors": ERRORS, **TITLES},
    "request_rejected": {"reference": "LUR-2026-000123", "comment": "Nav paraksta", **TITLES},
    "unknown_sender": {"from_addr": "svesais@example.com", "subject": "Pieteikums"},
    "unsupported_attachment": {
        "filenames": ["forma.doc"],
        "reasons": [{"filename": "forma.doc", "message_lv": "vecs DOC", "message_en": "old DOC"}],
    },
    "no_form": {"forms": [{"code": "user_add", "title_lv": "Jauns lietotājs", "title_en": "New"}]},
    "quarantined": {
        "reference_or_message": "<abc@example.com>",
        "from_addr": "x@example.com",
        "reason": "zip bomb",
    },
    "confirmation": {
        "reference": "LUR-2026-000123",
        "form_type": "fee_increase",
        "action": "",
        "customer_name": 'SIA "Ozols"',
        "changes": {
            "contract_no": "L-2019/0123",
            "fee_before": "100.00",
            "fee_after": "1200.00",
            "effective_from": "2026-12-01",
            "monthly_after": "1240.00",
        },
        **TITLES,
    },
    "credentials": {
        "username": "jberzins",
        "first_name": "Jānis",
        "last_name": "Bērziņš",
        "login_url": "https://datubazes.example.lv/login",
        "password": "Abc123defGhi4",
        "role": "user",
        "contract_no": "L-2019/0123",
        "customer_name": 'SIA "Ozols"',
        "provider_name": 'SIA "Datubāzu abonēšana"',
    },
    "topup_invoice": {
        "invoice_number": "R-2026-000001",
        "amount": "25.00",
        "vat_rate": "21",
        "vat": "5.25",
        "total": "30.25",
        "balance_before": "50.00",
        "balance": "75.00",
        "issued_on": "2026-11-25",
        "due_on": "2026-12-09",
        "provider_iban": "LV80BANK0000435195001",
        "provider_bank": "AS Piemēra banka",
        "username": "jberzins",
        "first_name": "Jānis",
        "last_name": "Bērziņš",
        "customer_name": 'SIA "Ozols"',
        "contract_no": "L-2019/0123",
    },
    "invoice_notice": {
        "invoice_number": "R-2026-000001",
        "amount": "25.00",
        "vat_rate": "21",
        "vat": "5.25",
        "total": "30.25",
        "issued_on": "2026-11-25",
        "due_on": "2026-12-09",
        "provider_iban": "LV80BANK0000435195001",
        "customer_name": 'SIA "Ozols"',
        "contract_no": "L-2019/0123",
    },
    "password_reset": {
        "username": "jberzins",
        "first_name": "Jānis",
        "last_name": "Bērziņš",
        "valid_hours": 2,
        "reset_url": "https://datubazes.example.lv/parole?token=xyz",
    },
    "approval_reminder": {
        "reference": "LUR-2026-000123",
        "waiting_days": 3,
        "ui_url": "http://127.0.0.1:4200/runs/flow-run/1",
        **TITLES,
    },
    "request_expired": {"reference": "LUR-2026-000123", **TITLES},
    "client_answer": {
        "reference": "LUR-2026-000123",
        "from_addr": "anna.kalnina@ozols.lv",
        "subject": "Re: LUR-2026-000123: iesniegums noraidīts",
        "text": "Kāpēc noraidīts? Paraksts ir otrajā lapā.",
        **TITLES,
    },
}
# Values shown in each language's own format, not as the context stores them.
MONEY_KEYS = {"amount", "balance", "balance_before", "vat", "total"}
DATE_KEYS = {"issued_on", "due_on"}


def test_every_template_has_a_context_here() -> None:
    """The list of templates and the contexts tested here are the same set."""
    assert set(CONTEXTS) == set(TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_renders_latvian_then_english(template: str) -> None:
    """Subject, text and HTML render; Latvian comes before English; every value shows."""
    mail = render(template, CONTEXTS[template])
    assert mail.subject
    assert "\n" not in mail.subject
    assert mail.text.index("---") > 0
    assert mail.html.index('lang="lv"') < mail.html.index('lang="en"')
    reference = CONTEXTS[template].get("reference") or CONTEXTS[template].get("invoice_number")
    if reference:
        assert reference in mail.subject
    lv_part, en_part = mail.text.split("\n---\n")
    for key, value in CONTEXTS[template].items():
        # form_type is a machine code for the flows; the reader sees the titles instead.
        if not isinstance(value, str) or key in ("form_type", "action", "role"):
            continue
        if key in MONEY_KEYS:
            assert f"{money_lv(value)}" in lv_part, (template, key)
            assert f"{money_en(value)}" in en_part, (template, key)
        elif key in DATE_KEYS:
            assert day_lv(value) in lv_part, (template, key)
            assert day_en(value) in en_part, (template, key)
        else:
            assert value in mail.text, (template, value)


def test_form_rejected_lists_each_field_in_both_languages() -> None:
    """The rejection names the field by its label with the Latvian and English message."""
    mail = render("form_rejected", CONTEXTS["form_rejected"])
    lv_part, en_part = mail.text.split("---")
    assert "Reģistrācijas numurs: jābūt 11 cipariem" in lv_part
    assert "Registration number: must be 11 digits" in en_part


def test_request_rejected_shows_books_errors_when_given() -> None:
    """A books check failure lists its errors; a plain staff rejection shows the comment only."""
    with_errors = render("request_rejected", {**CONTEXTS["request_rejected"], "errors": ERRORS})
    assert "must be 11 digits" in with_errors.text
    assert "must be 11 digits" not in render("request_rejected", CONTEXTS["request_rejected"]).text


def test_html_escapes_values_but_text_keeps_them() -> None:
    """A company name with markup is escaped in HTML and left as typed in plain text."""
    context = {**CONTEXTS["receipt"], "customer_name": "<script>x</script> & Co"}
    mail = render("receipt", context)
    assert "<script>" not in mail.html
    assert "&lt;script&gt;x&lt;/script&gt; &amp; Co" in mail.html
    assert "<script>x</script> & Co" in mail.text


def test_unknown_template_is_an_error() -> None:
    """Asking for a template that does not exist raises UnknownTemplateError."""
    with pytest.raises(UnknownTemplateError):
        render("no_such_template", {})


def test_built_message_has_text_and_html_alternatives() -> None:
    """The message carries both parts, the subject, and an Auto-Submitted header."""
    mail = render("receipt", CONTEXTS["receipt"])
    message = build_message(
        mail_from="Datubāzu abonēšana <pieteikumi@example.lv>",
        recipient="anna@ozols.lv",
        rendered=mail,
        cc=["valde@ozols.lv"],
    )
    assert message["Subject"] == mail.subject
    assert message["Cc"] == "valde@ozols.lv"
    assert message["Auto-Submitted"] == "auto-generated"
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    assert html_part is not None
    assert text_part is not None
    assert "LUR-2026-000123" in str(text_part.get_content())


def test_money_and_dates_read_latvian_in_latvian_and_english_in_english() -> None:
    """Latvian text writes 1 200,00 EUR and 01.12.2026., English 1,200.00 EUR."""
    mail = render("confirmation", CONTEXTS["confirmation"])
    lv_part, en_part = mail.text.split("\n---\n")
    assert "100,00 EUR → 1\u00a0200,00 EUR" in lv_part
    assert "no 01.12.2026." in lv_part
    assert "100.00 EUR → 1,200.00 EUR" in en_part
    assert "1 December 2026" in en_part
    assert "200.00" not in lv_part
    assert "2026-12-01" not in mail.text


def test_a_label_already_in_the_message_is_not_said_twice() -> None:
    """The form's own messages start with the label: the error line says it once."""
    errors = [
        {
            "field_label_lv": "Reģistrācijas numurs",
            "field_label_en": "Registration number",
            "message_lv": 'Reģistrācijas numurs: "123" — jābūt 11 cipariem',
            "message_en": 'Registration number: "123" — must be 11 digits',
        }
    ]
    mail = render("form_rejected", {**CONTEXTS["form_rejected"], "errors": errors})
    assert mail.text.count("Reģistrācijas numurs") == 1
    assert mail.text.count("Registration number") == 1
    assert "Reģistrācijas numurs: Reģistrācijas numurs" not in mail.html


def test_client_text_in_a_confirmation_list_is_escaped_in_html() -> None:
    """A user's name with markup shows as text in the HTML list of changes."""
    changes = {
        "contract_no": "L-1",
        "accountant": {"username": "x", "name": "<img src=x onerror=alert(1)>", "email": "e@x.lv"},
    }
    context = {**CONTEXTS["confirmation"], "form_type": "einvoice_access", "changes": changes}
    mail = render("confirmation", context)
    assert "<img" not in mail.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in mail.html
