"""The pages' words, Latvian first and English second, by key; the one place their wording lives."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

Lang = Literal["lv", "en"]
LANGS: tuple[Lang, ...] = ("lv", "en")

TEXTS: dict[str, tuple[str, str]] = {
    "site": ("Datubāzu abonēšana — pašapkalpošanās", "Database subscription — self-service"),
    "skip": ("Pāriet uz saturu", "Skip to content"),
    "switch": ("English", "Latviski"),
    "sign_in": ("Pieslēgties", "Sign in"),
    "sign_out": ("Atslēgties", "Sign out"),
    "identifier": ("Lietotājvārds vai e-pasts", "Username or e-mail"),
    "password": ("Parole", "Password"),
    "forgot": ("Aizmirsāt paroli?", "Forgot your password?"),
    "bad_credentials": (
        "Nepareizs lietotājvārds, e-pasts vai parole.",
        "Wrong username, e-mail or password.",
    ),
    "locked": (
        "Pārāk daudz neveiksmīgu mēģinājumu. Mēģiniet vēlreiz pēc {until}.",
        "Too many failed attempts. Try again after {until}.",
    ),
    "choose_role": ("Izvēlieties lomu", "Choose a role"),
    "choose_role_help": (
        "Šī parole der vairākām lomām. Ar kuru pieslēgties?",
        "This password fits several roles. Which one do you sign in as?",
    ),
    "role_user": ("lietotājs", "user"),
    "role_accountant": ("grāmatvedis", "accountant"),
    "role_authorized_person": ("pilnvarotā persona", "authorized person"),
    "contract": ("Līgums", "Contract"),
    "continue": ("Turpināt", "Continue"),
    "nav_account": ("Mani konti", "My account"),
    "nav_protocol": ("Mans protokols", "My protocol"),
    "nav_topup": ("Konta papildināšana", "Top up"),
    "nav_details": ("Lietotāja informācija", "My details"),
    "nav_password": ("Paroles maiņa", "Change password"),
    "nav_contract": ("Līguma lietotāji", "The contract's users"),
    "nav_applications": ("Mani iesniegumi", "My applications"),
    "must_change": (
        "Jūs pieslēdzāties ar pagaidu paroli. Lūdzu, iestatiet savu paroli.",
        "You signed in with a temporary password. Please set your own password.",
    ),
    "old_password": ("Pašreizējā parole", "Current password"),
    "new_password": ("Jaunā parole (vismaz 12 zīmes)", "New password (at least 12 characters)"),
    "new_password2": ("Jaunā parole vēlreiz", "New password again"),
    "passwords_differ": ("Jaunās paroles nesakrīt.", "The new passwords differ."),
    "password_changed": ("Parole nomainīta.", "The password is changed."),
    "save": ("Saglabāt", "Save"),
    "forgot_title": ("Paroles atgādinājums", "Password reminder"),
    "forgot_help": (
        "Ierakstiet lietotājvārdu vai e-pastu; nosūtīsim vienreizēju saiti jaunas paroles"
        " iestatīšanai.",
        "Enter your username or e-mail; we will send a one-time link to set a new password.",
    ),
    "send_link": ("Sūtīt saiti", "Send the link"),
    "forgot_done": (
        "Ja šāds lietotājs ir reģistrēts, uz tā e-pastu ir nosūtīta saite paroles maiņai.",
        "If such a user is registered, a link to set a new password has been sent to its e-mail.",
    ),
    "reset_title": ("Jaunas paroles iestatīšana", "Set a new password"),
    "reset_done": (
        "Parole iestatīta. Tagad varat pieslēgties.",
        "The password is set. You can sign in now.",
    ),
    "link_invalid": (
        "Saite nav derīga vai jau izmantota. Pieprasiet jaunu.",
        "The link is not valid or was used already. Ask for a new one.",
    ),
    "balance": ("Atlikums", "Balance"),
    "monthly_amount": ("Ikmēneša maksa", "Monthly amount"),
    "customer": ("Klients", "Customer"),
    "status": ("Statuss", "Status"),
    "users_sharing": ("Abonementa lietotāji", "Users sharing the subscription"),
    "name": ("Vārds, uzvārds", "Name"),
    "username": ("Lietotājvārds", "Username"),
    "role": ("Loma", "Role"),
    "date_from": ("No", "From"),
    "date_to": ("Līdz", "To"),
    "date_hint": ("dd.mm.gggg", "dd.mm.yyyy"),
    "bad_date": ("Datums jāraksta kā dd.mm.gggg.", "Write the date as dd.mm.yyyy."),
    "filter": ("Atlasīt", "Filter"),
    "download_csv": ("Lejupielādēt CSV", "Download CSV"),
    "requests": ("Iesniegumi", "Requests"),
    "ledger": ("Konta kustība", "Account movements"),
    "reference": ("Numurs", "Reference"),
    "form_type": ("Veidlapa", "Form"),
    "received": ("Saņemts", "Received"),
    "date": ("Datums", "Date"),
    "kind": ("Veids", "Kind"),
    "amount": ("Summa, EUR", "Amount, EUR"),
    "description": ("Apraksts", "Description"),
    "opening": ("Sākuma atlikums", "Opening balance"),
    "closing": ("Beigu atlikums", "Closing balance"),
    "none": ("Nav ierakstu.", "Nothing here."),
    "topup_help": (
        "Summa tiek ieskaitīta kontā uzreiz; rēķinu nosūtīsim uz Jūsu e-pastu.",
        "The amount is credited at once; the invoice is sent to your e-mail.",
    ),
    "topup_done": (
        "Ieskaitīti {amount} EUR. Atlikums: {balance} EUR. Rēķins {invoice} nosūtīts uz e-pastu.",
        "{amount} EUR credited. Balance: {balance} EUR. Invoice {invoice} sent by e-mail.",
    ),
    "bad_amount": ("Summa jāraksta kā 10,00.", "Write the amount as 10.00."),
    "pay": ("Papildināt", "Top up"),
    "email": ("E-pasts", "E-mail"),
    "phone": ("Tālrunis", "Phone"),
    "surname_help": (
        "Uzvārda maiņai rakstiet uz {staff}, pievienojot dokumenta kopiju.",
        "To change your surname, write to {staff} with a copy of the document.",
    ),
    "details_saved": ("Dati saglabāti.", "Your details are saved."),
    "email_link_sent": (
        "Uz jauno adresi {email} nosūtīta saite; e-pasts mainīsies, kad to atvērsiet.",
        "A link was sent to the new address {email}; the e-mail changes when you open it.",
    ),
    "confirm_email_title": ("E-pasta maiņas apstiprināšana", "Confirm the e-mail change"),
    "confirm_email_help": (
        "Apstipriniet, ka turpmāk izmantosiet adresi {email}.",
        "Confirm that you will use the address {email} from now on.",
    ),
    "confirm": ("Apstiprināt", "Confirm"),
    "email_changed": ("E-pasts nomainīts uz {email}.", "The e-mail is changed to {email}."),
    "contract_users": ("Līguma lietotāji", "The contract's users"),
    "applications_title": ("Mani iesniegumi", "My applications"),
    "upload_title": ("Iesniegt aizpildītu veidlapu", "Submit a filled form"),
    "upload_help": (
        "Pievienojiet aizpildītu DOCX vai RTF veidlapu. Tā tiks apstrādāta tāpat kā e-pastā"
        " saņemta; Jūsu pieslēgšanās apliecina sūtītāju.",
        "Attach a filled DOCX or RTF form. It is handled as if it came by e-mail; your"
        " sign-in proves who sent it.",
    ),
    "file": ("Fails", "File"),
    "submit": ("Iesniegt", "Submit"),
    "no_file": ("Izvēlieties failu.", "Choose a file."),
    "too_large": (
        "Fails ir par lielu (vairāk nekā {mb} MB).",
        "The file is too large (over {mb} MB).",
    ),
    "uploaded": (
        "Saņemts: {refs}. Statusu redzat zemāk; atbildi nosūtīsim arī pa e-pastu.",
        "Received: {refs}. Its status is below; we also answer by e-mail.",
    ),
    "upload_refused": (
        "Fails netika pieņemts ({reason}); atbildi nosūtījām uz Jūsu e-pastu.",
        "The file was not accepted ({reason}); we sent the answer to your e-mail.",
    ),
    "blank_forms": ("Tukšas veidlapas", "Blank forms"),
    "csrf": (
        "Veidlapa novecojusi. Atveriet lapu vēlreiz un mēģiniet atkārtoti.",
        "The form has expired. Open the page again and retry.",
    ),
    "not_found": ("Lapa nav atrasta.", "Page not found."),
    "st_received": ("saņemts", "received"),
    "st_invalid": ("nederīgs", "invalid"),
    "st_awaiting_approval": ("gaida apstiprinājumu", "awaiting approval"),
    "st_approved": ("apstiprināts", "approved"),
    "st_rejected": ("noraidīts", "rejected"),
    "st_applied": ("izpildīts", "applied"),
    "st_failed": ("neizdevās", "failed"),
    "st_expired": ("novecojis", "expired"),
    "st_active": ("aktīvs", "active"),
    "st_blocked": ("bloķēts", "blocked"),
    "st_suspended": ("apturēts", "suspended"),
}


def text(key: str, lang: Lang, **params: object) -> str:
    """The page text of a key in a language, with its parameters filled in."""
    lv, en = TEXTS[key]
    chosen = lv if lang == "lv" else en
    return chosen.format(**params) if params else chosen


def status_text(status: str, lang: Lang) -> str:
    """A status word in the language, or the status itself when it has none."""
    key = f"st_{status}"
    return text(key, lang) if key in TEXTS else status


def money_text(amount: Decimal | str, lang: Lang) -> str:
    """An amount as Latvians write it (1 234,50) or, in English, 1,234.50."""
    value = Decimal(amount).quantize(Decimal("0.01"))
    english = f"{value:,.2f}"
    if lang == "en":
        return english
    return english.replace(",", "\u00a0").replace(".", ",")


def date_text(day: date | str | None, lang: Lang) -> str:
    """A date as dd.mm.yyyy (Latvian) or yyyy-mm-dd (English)."""
    if day is None:
        return ""
    value = date.fromisoformat(day) if isinstance(day, str) else day
    return value.strftime("%d.%m.%Y") if lang == "lv" else value.isoformat()


def parse_day(value: str) -> date | None:
    """A date typed as dd.mm.yyyy or yyyy-mm-dd; None when empty. Raises ValueError when bad."""
    value = value.strip()
    if not value:
        return None
    if "." in value:
        day, month, year = value.split(".")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(value)


def parse_amount(value: str) -> Decimal:
    """An amount typed as 10,50 or 10.50 (spaces allowed); raises ValueError when bad."""
    cleaned = value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except ArithmeticError as exc:
        raise ValueError(value) from exc
    if not amount.is_finite():
        raise ValueError(value)
    return amount
