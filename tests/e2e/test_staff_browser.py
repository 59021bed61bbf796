"""Staff approve in the real Prefect UI, in Debian's Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, Response, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlmodel import select

from flows.common import staff_key
from flows.settings import Settings
from handlers.models import Approval
from handlers.staff import check_code
from tests.e2e.journey import Journey
from tests.support.staff import fresh_code, wrong_code

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SCREENSHOT = ARTIFACTS / "resume-dialog.png"
# The UI polls and animates; a slow 2-core machine needs room, never a fixed sleep.
UI_TIMEOUT_MS = 60_000


@contextmanager
def chromium_page() -> Iterator[Page]:
    """A tall page in Debian's headless Chromium (never a downloaded browser).

    Playwright's sync API runs an event loop in this thread while it is open, so the test
    makes its Prefect client calls (asyncio.run) before it starts.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; `make test` installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1600})
            context.set_default_timeout(UI_TIMEOUT_MS)
            yield context.new_page()
        finally:
            browser.close()


def _suspended_at(journey: Journey, run_id: str, key_prefix: str) -> None:
    """Wait until the run waits again at a pause key starting with key_prefix.

    Plain HTTP, not the Prefect client: Playwright's sync API holds an event loop in this thread.
    """

    def waiting() -> bool:
        run = httpx.get(f"{journey.env.api_url}/flow_runs/{run_id}", timeout=30).json()
        state = run.get("state") or {}
        key = (state.get("state_details") or {}).get("pause_key") or ""
        return state.get("name") == "Suspended" and key.startswith(key_prefix)

    journey.env.wait_for(waiting, timeout=120, what=f"a suspend at {key_prefix}")


def _is_resume(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/resume")


def _property(page: Page, dialog: Locator, label: str) -> Locator:
    return dialog.locator(
        ".schema-form-property",
        has=page.locator(".schema-form-property__label", has_text=label),
    )


def _choose(page: Page, field: Locator, option: str) -> None:
    # The drop-down opens from ArrowDown on its focused control, not from a click in its middle.
    field.locator("button.p-select-button__control").first.focus()
    page.keyboard.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()


def _open_resume(page: Page, run_url: str, *, expect_text: str) -> Locator:
    """The run's Resume dialog, once its description shows `expect_text`."""
    page.goto(run_url)
    page.get_by_role("button", name="Resume", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(expect_text, timeout=UI_TIMEOUT_MS)
    return dialog


def _submit(page: Page, dialog: Locator, *, staff: str, code: str, comment: str = "") -> None:
    """Fill the decision (approve), the staff drop-down, the code and comment; submit."""
    _choose(page, _property(page, dialog, "Decision"), "approve")
    _choose(page, _property(page, dialog, "Staff"), staff)
    _property(page, dialog, "Code").locator("textarea, input").first.fill(code)
    if comment:
        _property(page, dialog, "Comment").locator("textarea, input").first.fill(comment)
    submit = dialog.get_by_role("button", name="Submit", exact=True)
    for _attempt in range(3):
        try:
            with page.expect_response(_is_resume, timeout=20_000) as resumed:
                submit.click()
            break
        except PlaywrightTimeoutError:
            # On the loaded 2-core machine a Submit click now and then sent nothing and the
            # dialog stayed open; a person would click again, so the test does too.
            continue
    else:
        pytest.fail("the Resume dialog never sent the decision")
    assert resumed.value.ok
    assert resumed.value.json()["status"] == "ACCEPT", resumed.value.text()
    expect(dialog).to_be_hidden(timeout=UI_TIMEOUT_MS)


def test_two_staff_approve_a_four_eyes_request_in_the_prefect_ui(journey: Journey) -> None:
    """Two staff approve with codes; a wrong code, a used one, one person twice: refused, said."""
    request = journey.new_request("requisites_change")
    journey.send_smtp(request.raw, request.sender)
    application = journey.application_of(request)
    assert application.id is not None
    run_id = journey.env.wait_for_suspended(application.id)
    reference = application.reference
    with chromium_page() as page:
        page.goto(f"{journey.env.server.ui_url}/runs")
        page.get_by_role("link", name=reference).first.click()
        page.wait_for_url(f"**/runs/flow-run/{run_id}**")
        run_url = page.url
        dialog = _open_resume(page, run_url, expect_text="Needs two approvals")
        expect(dialog).to_contain_text("Contract now", timeout=UI_TIMEOUT_MS)
        expect(dialog).to_contain_text("before → after", timeout=UI_TIMEOUT_MS)
        ARTIFACTS.mkdir(exist_ok=True)
        dialog.screenshot(path=str(SCREENSHOT))
        _submit(page, dialog, staff="ilze", code=wrong_code("ilze"))

        _suspended_at(journey, run_id, "decision-1-2")
        dialog = _open_resume(page, run_url, expect_text="Wrong one-time code for ilze")
        _submit(page, dialog, staff="ilze", code=fresh_code("ilze"), comment="Pārbaudīts")

        _suspended_at(journey, run_id, "decision-2-1")
        dialog = _open_resume(page, run_url, expect_text="1 no 2 / of 2: ilze")
        _submit(page, dialog, staff="ilze", code=fresh_code("ilze"))

        _suspended_at(journey, run_id, "decision-2-2")
        dialog = _open_resume(
            page, run_url, expect_text="second approval must come from another staff member"
        )
        # Māris's current code, used a moment ago elsewhere (his app still shows it).
        used_by_maris = fresh_code("maris")
        verdict = check_code(
            "maris",
            used_by_maris,
            uow=journey.env.uow(),
            key=staff_key(Settings()),
            now=datetime.now(UTC),
        )
        assert verdict.ok
        _submit(page, dialog, staff="maris", code=used_by_maris)

        _suspended_at(journey, run_id, "decision-2-3")
        dialog = _open_resume(page, run_url, expect_text="This code was already used")
        _submit(page, dialog, staff="maris", code=fresh_code("maris"))

    journey.assert_carried_out(request)
    with journey.env.uow() as uow:
        approvals = uow.session.exec(
            select(Approval).where(Approval.application_id == application.id)
        ).all()
        decided = [(a.decision, a.staff, a.comment) for a in approvals]
    assert decided == [("approve", "ilze", "Pārbaudīts"), ("approve", "maris", None)]
    assert SCREENSHOT.stat().st_size > 10_000
