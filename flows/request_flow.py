"""The machinery every request-type flow shares: check, review, wait for staff, apply, answer.

A request flow runs as a deployment and *suspends* while it waits, so no process is held per
waiting run. After a resume the flow body runs again from the top: the tasks before the wait
return their persisted results (ids and small values only), the suspend returns the stored
decision, and only the steps after it do new work. Every side effect sits in a task and is
idempotent by the application's id besides.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.flow_runs import asuspend_flow_run
from prefect.runtime import flow_run as current_run
from pydantic import ValidationError

from flows.common import deliver_due_mail, load_settings, staff_key, uow_factory
from flows.review import Decision, decision_model, form_titles, review_markdown
from handlers import decisions
from handlers.messages import message
from handlers.models import Application
from handlers.staff import (
    CodeCheck,
    DecisionAttempt,
    decision_verdict,
    list_staff,
    verify_decision,
)
from handlers.threads import ClientAnswerView, client_answers
from handlers.views import ReviewView, review_view


class SuspensionIsNoError(logging.Filter):
    """Log a run's "Finished in state Suspended" at INFO, not at Prefect's ERROR.

    For docintake a suspended run is the normal wait for staff; an ERROR per application would
    bury the errors ops must chase. Every other line passes unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Lower the level of a suspension's closing line; keep every record."""
        if record.levelno == logging.ERROR and str(record.msg).startswith(
            ("Finished in state Suspended", "Finished in state Paused")
        ):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


# Every request flow imports this module in its run process before the run starts.
logging.getLogger("prefect.flow_runs").addFilter(SuspensionIsNoError())

# Database and SMTP hiccups are worth retrying; a programming error fails on the first retry too.
IO_RETRIES = 3
IO_BACKOFF: list[float] = [2.0, 10.0, 30.0]


def _application(application_id: int) -> Application:
    application = decisions.get_application(application_id, uow=uow_factory(load_settings()))
    if application is None:
        raise LookupError(f"application {application_id} does not exist")
    return application


def _issue_dict(issue: Any) -> dict[str, Any]:
    if isinstance(issue, dict):
        return issue
    dumped: dict[str, Any] = issue.model_dump()
    return dumped


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF)
def check_and_wait(application_id: int, flow_run_id: str) -> dict[str, int]:
    """Check the application against the books; if it passes, mark it waiting under this run.

    Returns {"errors": how many, "approvals": how many different staff must approve} — two for
    risky request types and unverified senders, 0 when there are errors. One task for what a
    run does before its review: each task costs the Prefect server a task run and its states,
    and a resumed run replays them all.
    """
    from handlers.checks import check_application
    from handlers.request_types import needs_two_approvals

    settings = load_settings()
    application = _application(application_id)
    uow = uow_factory(settings)
    result = check_application(
        application.form_type or "",
        application.fields,
        uow=uow,
        sender=application.sender,
        today=date.today(),
    )
    errors = [_issue_dict(e) for e in result.errors]
    warnings = [_issue_dict(w) for w in result.warnings]
    decisions.record_check(application_id, uow=uow, errors=errors, warnings=warnings)
    if errors:
        return {"errors": len(errors), "approvals": 0}
    decisions.mark_awaiting_approval(application_id, uow=uow, flow_run_id=flow_run_id)
    two = needs_two_approvals(application.form_type, sender_verified=application.sender_verified)
    return {"errors": 0, "approvals": 2 if two else 1}


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF)
def reject_for_errors(application_id: int) -> str:
    """Reject an application the books refuse, telling the client field by field."""
    application = _application(application_id)
    decisions.reject_application(
        application_id,
        uow=uow_factory(load_settings()),
        comment=None,
        titles=form_titles(application.form_type),
        errors=application.errors,
    )
    return "rejected"


# Returns None on purpose: the review text holds personal data and must never be persisted;
# the persisted None is what keeps a resumed run from publishing the artifact again.
@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF)
async def publish_review(application_id: int) -> None:
    """Publish the review artifact: the contract now, the changes, the form and the document."""
    view = _review(application_id)
    await acreate_markdown_artifact(
        key=f"review-{view.reference.lower()}",
        markdown=review_markdown(view, answers=_answers(application_id)),
        description=f"{view.reference}: what staff approve",
    )


def _review(application_id: int) -> ReviewView:
    return review_view(application_id, uow=uow_factory(load_settings()), today=date.today())


def _answers(application_id: int) -> list[ClientAnswerView]:
    # What the client wrote back about this application, shown to staff above their decision.
    return client_answers(application_id, uow=uow_factory(load_settings()))


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF)
def record_decision(
    application_id: int, decision: str, staff: str, comment: str | None, final: bool
) -> int:
    """Write a staff decision to our database; the approval row's id."""
    approval = decisions.record_decision(
        application_id,
        uow=uow_factory(load_settings()),
        decision=decision,
        staff=staff,
        comment=comment,
        final=final,
    )
    return approval.id or 0


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF)
def apply_to_books(application_id: int, actor: str) -> str:
    """Apply the approved application in one transaction; the status it ends in."""
    from handlers.operations import apply_application

    result = apply_application(
        application_id, uow=uow_factory(load_settings()), today=date.today(), actor=actor
    )
    if not result.ok:
        get_run_logger().warning("Not applied: %s (%s)", result.code, result.message_en)
    return "applied" if result.ok else "failed"


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF)
async def deliver_mail(application_id: int | None = None) -> int:
    """Send the application's mail (everything due, without one); the number sent.

    A request run sends only its own replies: concurrent runs would otherwise each claim the
    others' rows. Whatever a run leaves (a relay away) the housekeeping pass sends.
    """
    return (await deliver_due_mail(load_settings(), application_id)).sent


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF, persist_result=False)
async def check_decision(attempt: DecisionAttempt) -> CodeCheck:
    """Whether a resumed decision stands: its rules, then the staff member's one-time code.

    The code is judged at the moment the decision was given (when the server stored it), not
    when this run got to it. Not persisted (the verdict names staff); our database keeps it
    under the attempt's key, so a replay gets the same verdict instead of checking a used code
    again.
    """
    from prefect.client.orchestration import get_client

    from flows.decisions_given import decision_given_at

    settings = load_settings()
    # The engine's copy (flows/decisions_given.py) usually judged it before the run started.
    stored = decision_verdict(attempt.key, uow=uow_factory(settings))
    if stored is not None:
        return stored
    async with get_client() as client:
        given_at = await decision_given_at(client, UUID(attempt.flow_run_id), attempt.pause_key)
    return verify_decision(
        attempt,
        uow=uow_factory(settings),
        key=staff_key(settings),
        now=given_at or datetime.now(UTC),
    )


def _active_staff() -> list[str]:
    return [s.username for s in list_staff(uow=uow_factory(load_settings()), active_only=True)]


async def wait_for_decision(
    application_id: int, *, stage: int, first_staff: str | None = None
) -> Decision:
    """Suspend until an enrolled staff member decides with a valid code; refuse and ask again.

    Keys are deterministic (stage, attempt), so a resumed run replays the same suspends and
    gets the decisions already given instead of asking twice; their verdicts come back from our
    database. A run restarted after a crash (flows/recovery.py) has lost those inputs: the
    decisions recorded in our database stand in for them, so staff are never asked again for a
    decision they gave.
    """
    logger = get_run_logger()
    approvals = decisions.approvals_for(application_id, uow=uow_factory(load_settings()))
    if len(approvals) >= stage:
        given = approvals[stage - 1]
        return Decision.model_validate(
            {
                "decision": given.decision,
                "staff": given.staff,
                "code": "",
                "comment": given.comment or "",
            }
        )
    attempt = 0
    notice: str | None = None
    while True:
        attempt += 1
        key = f"decision-{stage}-{attempt}"
        staff = _active_staff()
        if not staff:
            notice = " / ".join(message("no_staff_enrolled"))
        description = review_markdown(
            _review(application_id), notice=notice, answers=_answers(application_id)
        )
        model = decision_model(staff).with_initial_data(description=description)
        try:
            decision = await asuspend_flow_run(wait_for_input=model, key=key)
        except ValidationError:
            # The answer to this wait is gone (a restart deleted the run's inputs before its
            # decision was copied): ask again under the next key instead of failing the run.
            notice = " / ".join(message("decision_lost"))
            logger.warning("The decision for stage %d was lost; asking again", stage)
            continue
        verdict = await check_decision(
            DecisionAttempt(
                application_id=application_id,
                flow_run_id=str(current_run.id),
                pause_key=key,
                decision=decision.decision,
                staff=decision.staff,
                code=decision.code,
                comment=decision.comment,
                first_staff=first_staff,
            )
        )
        if verdict.ok:
            return decision.model_copy(update={"staff": verdict.username, "code": ""})
        notice = f"{verdict.message_lv} / {verdict.message_en}"
        # The reason's code only: the notice names staff, the log need not.
        logger.warning("Decision refused (%s); waiting again (stage %d)", verdict.code, stage)


async def carry_request(application_id: int) -> str:
    """Check, wait for staff (twice, for risky requests), then apply or reject; the end status."""
    checked = check_and_wait(application_id, str(current_run.id))
    if checked["errors"] > 0:
        reject_for_errors(application_id)
        await deliver_mail(application_id)
        return "rejected"

    four_eyes = checked["approvals"] == 2
    await publish_review(application_id)

    first = await wait_for_decision(application_id, stage=1)
    final = first.decision == "reject" or not four_eyes
    record_decision(application_id, first.decision, first.staff, first.comment or None, final)
    decided = first
    if first.decision == "approve" and four_eyes:
        decided = await wait_for_decision(application_id, stage=2, first_staff=first.staff)
        record_decision(
            application_id, decided.decision, decided.staff, decided.comment or None, True
        )

    if decided.decision == "reject":
        reject_with_comment(application_id, decided.staff, decided.comment)
        await deliver_mail(application_id)
        return "rejected"

    status = apply_to_books(application_id, decided.staff)
    await deliver_mail(application_id)
    return status


@task(retries=IO_RETRIES, retry_delay_seconds=IO_BACKOFF)
def reject_with_comment(application_id: int, staff: str, comment: str) -> str:
    """Reject on a staff decision and tell the client why."""
    application = _application(application_id)
    decisions.reject_application(
        application_id,
        uow=uow_factory(load_settings()),
        comment=comment,
        titles=form_titles(application.form_type),
    )
    return "rejected"
