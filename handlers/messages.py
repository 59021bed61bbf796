"""Business-rule messages in Latvian and English, by code; the one place their wording lives."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

# code -> (Latvian, English); `{name}` placeholders are filled from the failure's parameters.
MESSAGES: dict[str, tuple[str, str]] = {
    "ok": ("Izpildīts.", "Done."),
    "contract_not_found": (
        "Līgums {contract_no} nav atrasts.",
        "Contract {contract_no} was not found.",
    ),
    "contract_reg_no_mismatch": (
        "Līgums {contract_no} nepieder uzņēmumam ar reģistrācijas numuru {reg_no}.",
        "Contract {contract_no} does not belong to the company with registration number {reg_no}.",
    ),
    "contract_not_active": (
        "Līgums {contract_no} nav aktīvs (statuss: {status}).",
        "Contract {contract_no} is not active (status: {status}).",
    ),
    "contract_not_suspended": (
        "Līguma {contract_no} darbība nav pārtraukta, tāpēc to nevar atjaunot.",
        "Contract {contract_no} is not suspended, so it cannot be resumed.",
    ),
    "contract_already_suspended": (
        "Līguma {contract_no} darbība jau ir pārtraukta.",
        "Contract {contract_no} is already suspended.",
    ),
    "submitter_not_authorized": (
        '"{name}" nav šī līguma pilnvarotā persona.',
        '"{name}" is not an authorized person of this contract.',
    ),
    "sender_not_authorized": (
        "Sūtītājs {sender} nav šī līguma pilnvarotā persona.",
        "The sender {sender} is not an authorized person of this contract.",
    ),
    "user_not_found": (
        'Lietotājs "{username}" nav atrasts.',
        'User "{username}" was not found.',
    ),
    "user_not_in_contract": (
        'Lietotājs "{username}" nepieder līgumam {contract_no}.',
        'User "{username}" does not belong to contract {contract_no}.',
    ),
    "user_not_active": (
        'Lietotājs "{username}" nav aktīvs.',
        'User "{username}" is not active.',
    ),
    "user_name_mismatch": (
        'Norādītais vārds "{given}" neatbilst lietotājam "{username}" ({actual}).',
        'The name "{given}" does not match user "{username}" ({actual}).',
    ),
    "email_already_active": (
        "E-pasta adrese {email} jau pieder šī līguma aktīvam lietotājam.",
        "The e-mail {email} already belongs to an active user of this contract.",
    ),
    "email_repeated": (
        "E-pasta adrese {email} veidlapā norādīta vairākas reizes.",
        "The e-mail {email} is given more than once in the form.",
    ),
    "block_all_users": (
        "Visus līguma aktīvos lietotājus bloķēt nevar; šādā gadījumā iesniedziet iesniegumu par"
        " līguma darbības pārtraukšanu vai par lietotāja maiņu.",
        "Every active user of the contract cannot be blocked; use contract suspension or a"
        " change of user instead.",
    ),
    "no_users": ("Nav norādīts neviens lietotājs.", "No user is given."),
    "fee_not_higher": (
        "Jaunā abonentmaksa {new_fee} EUR nav lielāka par pašreizējo ({current_fee} EUR);"
        " abonentmaksu samazināt var tikai ar līguma grozījumiem.",
        "The new fee, {new_fee} EUR, is not higher than the current one ({current_fee} EUR);"
        " a lower fee needs an amendment to the contract.",
    ),
    "current_fee_differs": (
        "Norādītā pašreizējā abonentmaksa ({given} EUR) atšķiras no mūsu uzskaitē esošās"
        " ({books} EUR).",
        "The current fee given, {given} EUR, differs from the books' {books} EUR.",
    ),
    "no_details_given": (
        "Nav norādīts neviens jauns rekvizīts.",
        "No new company detail is given.",
    ),
    "date_to_before_from": (
        "Beigu datumam jābūt vēlākam par sākuma datumu.",
        "The end date must be after the start date.",
    ),
    "wrong_password": ("Nepareiza pašreizējā parole.", "The current password is wrong."),
    "weak_password": (
        "Parolē jābūt vismaz {min_length} rakstzīmēm.",
        "The password must be at least {min_length} characters long.",
    ),
    "token_invalid": (
        "Paroles atjaunošanas saite nav derīga vai tās derīguma termiņš ir beidzies.",
        "The password reset link is invalid or has expired.",
    ),
    "reset_requested": (
        "Ja šāds lietotājs ir reģistrēts, uz tā e-pasta adresi ir nosūtīta paroles"
        " atjaunošanas saite.",
        "If such a user exists, a password reset link has been sent to its e-mail.",
    ),
    "amount_not_positive": (
        "Summai jābūt lielākai par nulli ar ne vairāk kā diviem cipariem aiz komata.",
        "The amount must be above zero with at most two decimals.",
    ),
    "surname_change_to_staff": (
        "Uzvārdu var mainīt tikai mūsu darbinieki; lūdzu, rakstiet mums.",
        "A surname change is made by staff only; please write to us.",
    ),
    "nothing_to_update": ("Nav ko mainīt.", "Nothing to change."),
    "application_not_found": (
        "Iesniegums {application_id} nav atrasts.",
        "Application {application_id} was not found.",
    ),
    "application_not_applicable": (
        "Iesniegumu {reference} ar statusu {status} nevar izpildīt.",
        "Application {reference} with status {status} cannot be applied.",
    ),
    "unknown_form_type": (
        "Nezināms veidlapas veids: {form_type}.",
        "Unknown form type: {form_type}.",
    ),
    "signed_date_old": (
        "Iesniegums parakstīts {signed_date}, pirms vairāk nekā 60 dienām.",
        "The application was signed on {signed_date}, more than 60 days ago.",
    ),
}


def _shown(value: Any, locale: str) -> Any:
    """Amounts and dates as the language writes them (`200,00` / `01.12.2026.` in Latvian)."""
    if isinstance(value, Decimal):
        return format_decimal(value, "#,##0.00", locale=locale)
    if isinstance(value, date):
        return format_date(
            value, "dd.MM.yyyy." if locale == "lv_LV" else "d MMMM yyyy", locale=locale
        )
    return value


def message(code: str, **params: Any) -> tuple[str, str]:
    """The Latvian and English text of a message code, with its parameters filled in.

    Decimal and date parameters are written in each language's format (Babel; the same
    patterns as notifications.formats, which handlers may not import), so a client who wrote
    "200,00 EUR" reads 200,00 EUR back.
    """
    lv, en = MESSAGES[code]
    return (
        lv.format(**{k: _shown(v, "lv_LV") for k, v in params.items()}),
        en.format(**{k: _shown(v, "en_GB") for k, v in params.items()}),
    )


MESSAGES["invalid_value"] = ("Nederīga vērtība: {expected_lv}.", "Invalid value: {expected_en}.")
MESSAGES["application_fields_invalid"] = (
    "Iesniegumā nav aizpildīti visi vajadzīgie lauki vai tie nav derīgi ({detail}).",
    "The application's fields are incomplete or invalid ({detail}).",
)

# Staff decisions: said to staff in the Resume dialog and the CLI, never to clients.
MESSAGES.update(
    {
        "staff_unknown": (
            "Darbinieks {username} nav reģistrēts (docintake staff add).",
            "Staff member {username} is not enrolled (docintake staff add).",
        ),
        "staff_inactive": (
            "Darbinieks {username} ir atslēgts; lēmumu var pieņemt cits darbinieks.",
            "Staff member {username} is disabled; another staff member must decide.",
        ),
        "staff_locked": (
            "Darbinieks {username} ir bloķēts pēc 5 nepareiziem kodiem; "
            "atbloķē `docintake staff reset {username}`.",
            "Staff member {username} is locked after 5 wrong codes; "
            "`docintake staff reset {username}` unlocks.",
        ),
        "code_missing": (
            "Ievadiet vienreizējo kodu no autentifikatora lietotnes.",
            "Enter the one-time code from your authenticator app.",
        ),
        "code_wrong": (
            "Nepareizs vienreizējais kods darbiniekam {username}; "
            "atlikuši {tries_left} mēģinājumi.",
            "Wrong one-time code for {username}; {tries_left} tries left.",
        ),
        "code_reused": (
            "Šis kods jau ir izmantots; pagaidiet nākamo kodu (30 s).",
            "This code was already used; wait for the next code (30 s).",
        ),
        "same_staff_twice": (
            "Otro apstiprinājumu jādod citam darbiniekam, ne {username}.",
            "The second approval must come from another staff member, not {username}.",
        ),
        "comment_required": (
            "Noraidot jāraksta komentārs: tas tiek nosūtīts klientam.",
            "A comment is required to reject: it is sent to the client.",
        ),
        "no_staff_enrolled": (
            "Nav neviena aktīva darbinieka: `docintake staff add LIETOTĀJVĀRDS`.",
            "No active staff: `docintake staff add USERNAME`.",
        ),
        "decision_lost": (
            "Iepriekšējais lēmums netika saglabāts (process tika pārstartēts): "
            "lūdzu, izlemiet vēlreiz.",
            "The previous decision was not kept (a process restart): please decide again.",
        ),
    }
)
