"""Who is believed: the From address read strictly, trusted Authentication-Results, the levels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.addresses import Mailbox, parse_mailbox
from intake.authresults import AuthStatus, AuthVerdict, evaluate, organizational_domain
from intake.senders import SenderVerdict, Verification, check_sender

MX = "mx.example.lv"
ANNA = "anna.kalnina@ozols.lv"


def _fields(*ar: str, body_ar: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Header fields as a message holds them: trace on top, then the message's own."""
    top = [("Authentication-Results", value) for value in ar]
    own = [("From", f"Anna <{ANNA}>"), ("Subject", "Iesniegums")]
    below = [("Authentication-Results", value) for value in body_ar]
    return [("Received", "from mail.ozols.lv by mx.example.lv"), *top, *own, *below]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("=?utf-8?q?anna.kalnina=40ozols.lv_=28?= <attacker@evil.lv> =?utf-8?q?=29?=", "defect"),
        ("=?utf-8?q?anna.kalnina=40ozols.lv?=", "defect"),
        ("anna.kalnina@=?utf-8?b?b3pvbHM=?=.lv", "defect"),
        ("anna.kalnina@ozols.lv, boss@ozols.lv", "2 addresses"),
        ("undisclosed-recipients:;", "0 addresses"),
        ("Anna <anna.kalnina@ozols.lv", "defect"),
        ("anna@ozols..lv", "defect"),
    ],
)
def test_a_forged_or_garbled_from_gives_no_sender(raw: str, problem: str) -> None:
    """Encoded words never become the address; a defective or ambiguous From is refused."""
    mailbox = parse_mailbox([raw])
    assert mailbox.address is None
    assert mailbox.problem is not None
    assert problem in mailbox.problem or "defective" in mailbox.problem


def test_two_from_headers_give_no_sender() -> None:
    """Two From fields are as ambiguous as two addresses in one."""
    assert parse_mailbox([ANNA, "boss@ozols.lv"]).problem == "2 From headers"


def test_an_encoded_display_name_is_decoded_and_the_address_kept() -> None:
    """Display names are decoded for people; the address is read as written, lower-cased."""
    mailbox = parse_mailbox(["=?utf-8?q?Anna_Kalni=C5=86a?= <Anna.Kalnina@OZOLS.lv>"])
    assert mailbox == Mailbox("anna.kalnina@ozols.lv", "Anna Kalniņa")


@given(
    name=st.text(max_size=30),
    local=st.from_regex(r"[a-z][a-z0-9.]{0,10}[a-z0-9]", fullmatch=True),
    encode=st.booleans(),
)
def test_whatever_the_display_name_the_address_is_the_angle_address(
    name: str, local: str, encode: bool
) -> None:
    """An address typed into the display name (even encoded) never replaces the real one."""
    from email.header import Header

    shown = Header(f"{name} {ANNA}", "utf-8").encode() if encode else f'"{ANNA}"'
    mailbox = parse_mailbox([f"{shown} <{local}@evil.lv>"])
    assert mailbox.address in (None, f"{local}@evil.lv".replace("..", "."))
    assert mailbox.address != ANNA


@given(st.text(max_size=80))
def test_any_from_value_is_refused_or_a_single_valid_address(raw: str) -> None:
    """The strict parse never raises, and an address it gives is one plain address."""
    mailbox = parse_mailbox([raw])
    if mailbox.address is not None:
        assert mailbox.address.count("@") == 1
        assert mailbox.address == mailbox.address.strip().lower()
        assert mailbox.address in raw.lower()
    else:
        assert mailbox.problem


def test_a_trusted_aligned_dmarc_pass_verifies() -> None:
    """Our MX's dmarc=pass for the From domain is a pass."""
    verdict = evaluate(_fields(f"{MX}; dmarc=pass header.from=ozols.lv"), "ozols.lv", [MX])
    assert verdict.status is AuthStatus.passed


def test_a_pass_from_an_untrusted_authserv_id_counts_for_nothing() -> None:
    """A header the sender wrote (any other authserv-id) is just text."""
    verdict = evaluate(_fields("evil.lv; dmarc=pass header.from=ozols.lv"), "ozols.lv", [MX])
    assert verdict.status is AuthStatus.none


def test_our_id_below_the_message_fields_counts_for_nothing() -> None:
    """A header claiming our id among the message's own fields was written before our hop."""
    fields = _fields(body_ar=(f"{MX}; dmarc=pass header.from=ozols.lv",))
    assert evaluate(fields, "ozols.lv", [MX]).status is AuthStatus.none


def test_our_id_below_an_untrusted_hop_counts_for_nothing() -> None:
    """Below an untrusted hop's header, a header claiming our id is the sender's."""
    fields = _fields("relay.other; spf=pass", f"{MX}; dmarc=pass header.from=ozols.lv")
    assert evaluate(fields, "ozols.lv", [MX]).status is AuthStatus.none


def test_a_pass_for_another_domain_does_not_align() -> None:
    """dkim=pass for evil.lv says nothing about mail From ozols.lv."""
    fields = _fields(f"{MX}; dkim=pass header.d=evil.lv; dmarc=none header.from=ozols.lv")
    assert evaluate(fields, "ozols.lv", [MX]).status is AuthStatus.none


def test_relaxed_alignment_takes_a_subdomain_signature() -> None:
    """A signature by mail.ozols.lv aligns with From ozols.lv (same organizational domain)."""
    fields = _fields(f"{MX}; dkim=pass header.d=mail.ozols.lv")
    assert evaluate(fields, "ozols.lv", [MX]).status is AuthStatus.passed
    assert organizational_domain("a.b.ozols.lv") == "ozols.lv"
    assert organizational_domain("x.gov.lv") == "x.gov.lv"


def test_dmarc_fail_wins_over_a_pass_in_another_trusted_header() -> None:
    """When trusted headers disagree (one may be forged), the fail counts."""
    fields = _fields(f"{MX}; dmarc=fail header.from=ozols.lv", f"{MX}; dmarc=pass")
    assert evaluate(fields, "ozols.lv", [MX]).status is AuthStatus.failed


def test_results_inside_comments_are_ignored() -> None:
    """`(dmarc=pass)` in a comment is not a verdict."""
    fields = _fields(f"{MX}; dmarc=none (dmarc=pass header.from=ozols.lv) header.from=ozols.lv")
    assert evaluate(fields, "ozols.lv", [MX]).status is AuthStatus.none


PASS = AuthVerdict(AuthStatus.passed, "dmarc=pass")
NONE = AuthVerdict(AuthStatus.none, "nothing")
FAIL = AuthVerdict(AuthStatus.failed, "dmarc=fail")


@pytest.mark.parametrize(
    ("level", "auth", "known", "verdict", "verified"),
    [
        (Verification.require, PASS, {1}, SenderVerdict.accept, True),
        (Verification.require, NONE, {1}, SenderVerdict.quarantine, False),
        (Verification.flag, NONE, {1}, SenderVerdict.accept, False),
        (Verification.off, NONE, {1}, SenderVerdict.accept, True),
        (Verification.off, FAIL, {1}, SenderVerdict.quarantine, False),
        (Verification.off, PASS, set(), SenderVerdict.quarantine, False),
        (Verification.flag, PASS, set(), SenderVerdict.quarantine, False),
    ],
)
def test_each_level_decides_as_documented(
    level: Verification, auth: AuthVerdict, known: set[int], verdict: SenderVerdict, verified: bool
) -> None:
    """Levels: require holds the unverified, flag reads them, off believes; strangers never."""
    check = check_sender(Mailbox(ANNA), auth, known_contract_ids=known, level=level)
    assert (check.verdict, check.verified) == (verdict, verified)


def test_no_address_is_quarantined_with_the_parsers_reason() -> None:
    """A refused From reaches staff with why it was refused."""
    check = check_sender(
        Mailbox(None, problem="From header holds 2 addresses"),
        PASS,
        known_contract_ids={1},
        level=Verification.off,
    )
    assert check.verdict is SenderVerdict.quarantine
    assert check.reason == "From header holds 2 addresses"


FIELD_KINDS = {
    "ours": ("Authentication-Results", f"{MX}; dmarc=pass header.from=ozols.lv"),
    "theirs": ("Authentication-Results", "relay.other; dmarc=pass header.from=ozols.lv"),
    "hop": ("Received", "from somewhere by somewhere.else"),
    "from": ("From", ANNA),
    "subject": ("Subject", "Iesniegums"),
}


@given(st.lists(st.sampled_from(sorted(FIELD_KINDS)), max_size=10))
def test_our_pass_counts_only_above_every_untrusted_hop_and_the_message(kinds: list[str]) -> None:
    """Whatever the order of fields, a pass counts only above foreign A-R and message fields."""
    expected = AuthStatus.none
    for kind in kinds:
        if kind in ("theirs", "from", "subject"):
            break
        if kind == "ours":
            expected = AuthStatus.passed
            break
    fields = [FIELD_KINDS[kind] for kind in kinds]
    assert evaluate(fields, "ozols.lv", [MX]).status is expected
