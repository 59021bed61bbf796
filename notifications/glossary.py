"""The provider's own words (LV/EN), taken from its forms and FAQ: every template uses these.

Latvian inflects, so a term is given in the cases the letters need (nominative, genitive,
accusative, locative). `AVOID` lists the words the mails used before and must not use again;
tests/unit/test_notifications_glossary.py reads every template (and handlers' messages) for them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """One term: Latvian cases and the English word."""

    lv: str  # nominative
    en: str
    gen: str = ""  # genitive (…a)
    acc: str = ""  # accusative (…u)
    loc: str = ""  # locative (…ā)


GLOSSARY: dict[str, Term] = {
    # The forms are titled "Iesniegums par …" and the FAQ calls them so; never "pieteikums".
    "application": Term("iesniegums", "application", "iesnieguma", "iesniegumu", "iesniegumā"),
    "form": Term("veidlapa", "form", "veidlapas", "veidlapu", "veidlapā"),
    # The FAQ: "lietotāja rekvizīti" (username and password), never "pieejas dati".
    "credentials": Term(
        "lietotāja rekvizīti", "login details", "lietotāja rekvizītu", "lietotāja rekvizītus"
    ),
    "username": Term("lietotājvārds", "username"),
    "temporary_password": Term("pagaidu parole", "temporary password"),
    "contract": Term("līgums", "contract", "līguma", "līgumu", "līgumā"),
    "customer": Term("pasūtītājs", "customer", "pasūtītāja", "pasūtītāju"),
    "company_details": Term("uzņēmuma rekvizīti", "company details", "uzņēmuma rekvizītu"),
    # One verb pair for the contract, as on the form: "līguma darbības pārtraukšana/atjaunošana".
    "suspend": Term("pārtraukt līguma darbību", "suspend the contract"),
    "suspended": Term("līguma darbība pārtraukta", "contract suspended"),
    "resumed": Term("līguma darbība atjaunota", "contract resumed"),
    "block": Term("bloķēt", "block"),
    "subscription_fee": Term("abonentmaksa", "subscription fee", "abonentmaksas", "abonentmaksu"),
    "monthly_amount": Term("ikmēneša rēķina summa", "monthly invoice amount"),
    "invoice": Term("rēķins", "invoice", "rēķina", "rēķinu", "rēķinā"),
    "einvoices": Term("e-rēķini", "e-invoices", "e-rēķinu", "e-rēķinus"),
    "accountant_role": Term("lietotājs ar lomu “grāmatvedis”", "user with the accountant role"),
    "authorized_person": Term("pilnvarotā persona", "authorized person", "pilnvarotās personas"),
    "balance": Term("konta atlikums", "account balance", "konta atlikuma"),
    "top_up": Term("konta papildināšana", "account top-up", "konta papildināšanas"),
    "sign_in": Term("pieslēgties", "sign in"),
}

# Word stems no template may use, and what to say instead.
AVOID: dict[str, str] = {
    "pieteikum": "iesniegums (the forms' and the FAQ's word)",
    "pieejas dat": "lietotāja rekvizīti",
    "apturē": "pārtraukt līguma darbību (one verb for the suspension)",
    "neesat pieprasījis": "gender-neutral: ja šo pieprasījumu neveicāt Jūs",
    "grāmatvedim izveidots": "gender-neutral: lietotājs ar lomu “grāmatvedis”",
}
