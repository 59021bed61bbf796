"""Who is believed: Authentication-Results verdicts and the sender's place in the books."""

from __future__ import annotations

from intake.senders import SenderVerdict, authentication_problem, check_sender

MX = "mx.example.lv"


def test_dmarc_fail_quarantines_even_an_authorized_sender() -> None:
    """A From address in the books does not help when DMARC failed."""
    check = check_sender(
        "anna.kalnina@ozols.lv",
        [f"{MX}; spf=pass smtp.mailfrom=ozols.lv; dkim=none; dmarc=fail header.from=ozols.lv"],
        known_contract_ids={1},
    )
    assert check.verdict is SenderVerdict.quarantine
    assert check.reason is not None
    assert "dmarc=fail" in check.reason


def test_spf_fail_quarantines() -> None:
    """An SPF fail is reason enough to hold the message for staff."""
    problem = authentication_problem([f"{MX}; spf=fail smtp.mailfrom=ozols.lv"])
    assert problem == "spf=fail in Authentication-Results"


def test_one_broken_dkim_signature_beside_a_good_one_is_accepted() -> None:
    """Mailing lists break one signature of several; a passing one still vouches."""
    header = f"{MX}; dkim=fail header.d=list.example; dkim=pass header.d=ozols.lv; dmarc=pass"
    assert authentication_problem([header]) is None


def test_results_inside_comments_are_ignored() -> None:
    """`(dmarc=fail)` in a comment is not a verdict."""
    assert authentication_problem([f"{MX}; dmarc=pass (was dmarc=fail upstream)"]) is None


def test_require_dmarc_pass_reads_only_the_topmost_header() -> None:
    """A sender-written lower header saying pass does not satisfy the requirement."""
    headers = [f"{MX}; dmarc=none", "attacker.example; dmarc=pass"]
    assert authentication_problem(headers, require_dmarc_pass=True) is not None
    assert authentication_problem([f"{MX}; dmarc=pass"], require_dmarc_pass=True) is None


def test_missing_results_are_accepted_unless_dmarc_pass_is_required() -> None:
    """No Authentication-Results at all is only a problem when the setting demands a pass."""
    assert authentication_problem([]) is None
    assert authentication_problem([], require_dmarc_pass=True) is not None


def test_sender_unknown_to_the_books_is_refused() -> None:
    """A From address of no contract is unknown, not accepted."""
    check = check_sender("someone@else.lv", [], known_contract_ids=set())
    assert check.verdict is SenderVerdict.unknown


def test_known_sender_with_clean_results_is_accepted() -> None:
    """An authorized address with passing results goes on to its attachments."""
    check = check_sender("anna.kalnina@ozols.lv", [f"{MX}; dmarc=pass"], known_contract_ids={7})
    assert check.verdict is SenderVerdict.accept
