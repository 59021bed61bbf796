"""The messages for documents that cannot be read as a form at all, in Latvian and English."""

from __future__ import annotations

from forms.catalogue import FORMS
from forms.result import Issue


def issue(field: str | None, code: str, message_lv: str, message_en: str) -> Issue:
    """One error or warning."""
    return Issue(field=field, code=code, message_lv=message_lv, message_en=message_en)


def _send_docx_or_rtf(reason_lv: str, reason_en: str) -> tuple[str, str]:
    return (
        f"{reason_lv} Lūdzu, nosūtiet aizpildītu veidlapu kā DOCX vai RTF failu.",
        f"{reason_en} Please send the filled form as a DOCX or RTF file.",
    )


_FORMAT_NAMES = {
    "doc": ("vecā Word .doc formātā", "in the old Word .doc format"),
    "pdf": ("PDF formātā", "a PDF"),
    "odt": ("OpenDocument (.odt) formātā", "an OpenDocument (.odt) file"),
    "image": ("attēls", "an image"),
    "zip": ("zip arhīvs", "a zip archive"),
    "macros": ("dokuments ar makrosiem", "a document with macros"),
}


def document_issue(code: str, detail: str = "") -> Issue:
    """The one error of a document that cannot be read as a form at all."""
    if code == "unsupported_format":
        named = _FORMAT_NAMES.get(detail)
        if named:
            lv, en = _send_docx_or_rtf(
                f"Fails ir {named[0]}, ko nevaram nolasīt.",
                f"The file is {named[1]}, which we cannot read.",
            )
        else:
            lv, en = _send_docx_or_rtf(
                "Šī veida failu nevaram nolasīt.", "We cannot read this type of file."
            )
    elif code == "too_large":
        lv, en = _send_docx_or_rtf("Fails ir lielāks par 10 MB.", "The file is larger than 10 MB.")
    elif code == "unsafe_content":
        lv, en = _send_docx_or_rtf(
            "Fails ir atteikts drošības dēļ (neparasta iekšējā struktūra).",
            "The file was refused for safety (an unusual inner structure).",
        )
    else:
        code = "unreadable"
        lv, en = _send_docx_or_rtf(
            "Failu nevar nolasīt — tas ir bojāts vai nepilnīgs.",
            "The file cannot be read — it is damaged or incomplete.",
        )
    return issue(None, code, lv, en)


def notice_issue(code: str) -> Issue:
    """A warning for staff about the file itself (the form is still read)."""
    if code == "external_link":
        return issue(
            None,
            code,
            "Dokuments atsaucas uz ārēju adresi; neatveriet oriģinālu programmā Word.",
            "The document links to an outside address; do not open the original in Word.",
        )
    return issue(None, code, f"Piezīme par failu: {code}.", f"A note on the file: {code}.")


def unknown_form_issue() -> Issue:
    """The document names none of the seven forms; the message lists them."""
    listed_lv = "; ".join(f"{f.title_lv} ({f.code})" for f in FORMS)
    listed_en = "; ".join(f"{f.title_en} ({f.code})" for f in FORMS)
    return issue(
        None,
        "unknown_form",
        "Dokumentā nav atrasts veidlapas kods vai nosaukums, tāpēc nezinām, kāds iesniegums tas ir."
        f" Izmantojiet kādu no mūsu veidlapām: {listed_lv}.",
        "The document carries no form code or title we know, so we cannot tell which application"
        f" it is. Please use one of our forms: {listed_en}.",
    )
