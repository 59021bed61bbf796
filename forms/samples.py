"""Filled-in values for every form, as the parse result carries them: tests, demo and benchmark.

`sample_values(code)` is a valid, complete filling; `sample_values(code, variant=n)` varies the
names and e-mails so that many generated forms are not byte-identical.
"""

from __future__ import annotations

from typing import Any

_NAMES = [("Jānis", "Bērziņš"), ("Anna", "Liepiņa"), ("Ēriks", "Ozols"), ("Līga", "Kļaviņa")]


def _common(variant: int) -> dict[str, Any]:
    first, last = _NAMES[variant % len(_NAMES)]
    return {
        "customer_name": 'SIA "Ozols"',
        "reg_no": "40003056133",
        "contract_no": f"L-2019/{variant % 10000:04d}",
        "submitter_name": f"{first} {last}",
        "submitter_position": "valdes loceklis",
        "submitter_email": f"valde{variant}@ozols.lv",
        "submitter_phone": "+37129123456",
        "signed_date": "2026-11-20",
    }


def _user(index: int, variant: int) -> dict[str, Any]:
    first, last = _NAMES[(index + variant) % len(_NAMES)]
    return {
        "first_name": first,
        "last_name": last,
        "personal_code": "161175-19997" if index % 2 == 0 else "328673-00679",
        "position": "grāmatvede" if index % 2 else "jurists",
        "email": f"user{index}.{variant}@ozols.lv",
        "phone": f"+3712{index % 10}{variant % 1000000:06d}",
    }


def sample_values(code: str, *, variant: int = 0) -> dict[str, Any]:
    """A valid filling of the form `code`, values normalized as the parse result gives them."""
    values = _common(variant)
    if code == "user_change":
        values |= {
            "old_username": "ozols_janis",
            "old_user_name": "Jānis Bērziņš",
            "new_first_name": "Līga",
            "new_last_name": "Kļaviņa",
            "new_personal_code": "328673-00679",
            "new_position": "grāmatvede",
            "new_email": f"liga.{variant}@ozols.lv",
            "new_phone": "+37126000001",
        }
    elif code == "user_add":
        values["users"] = [_user(index, variant) for index in range(3)]
    elif code == "user_block":
        values["block_from"] = "2026-12-01"
        values["users"] = [
            {"name": "Jānis Bērziņš", "username": "ozols_janis"},
            {"name": "Anna Liepiņa", "username": f"ozols_anna{variant}"},
        ]
    elif code == "fee_increase":
        values |= {"current_fee": "120.00", "new_fee": "1250.50", "effective_from": "2027-01-01"}
    elif code == "requisites_change":
        values |= {
            "new_name": 'SIA "Ozols un Partneri"',
            "new_address": "Brīvības iela 1, Rīga, LV-1010",
            "new_vat_no": "LV40003056133",
            "new_bank": "Swedbank",
            "new_swift": "HABALV22",
            "new_iban": "LV87HABA0551012345678",
            "effective_from": "2026-12-01",
        }
    elif code == "contract_suspend":
        values |= {"action": "suspend", "date_from": "2026-12-01", "date_to": "2027-03-01"}
    elif code == "einvoice_access":
        values |= {
            "accountant_first_name": "Anna",
            "accountant_last_name": "Liepiņa",
            "accountant_email": f"gramatvediba{variant}@ozols.lv",
            "accountant_phone": "+37167000000",
        }
    else:
        raise ValueError(f"unknown form type {code!r}")
    return values
