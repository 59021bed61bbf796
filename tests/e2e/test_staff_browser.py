"""Staff approve in the real Prefect UI, in Debian's Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, Response, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlmodel import select

from handlers.models import Approval
from tests.e2e.journey import Journey

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


def _is_resume(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/resume")


def test_staff_approve_in_the_prefect_ui(journey: Journey) -> None:
    """Staff find the waiting run, read the parsed form, approve; the credentials e-mail arrives."""
    request = journey.new_request("user_add")
    journey.send_smtp(request.raw, request.sender)
    application = journey.application_of(request)
    assert application.id is not None
    run_id = journey.env.wait_for_suspended(application.id)
    reference = application.reference

    with chromium_page() as page:
        page.goto(f"{journey.env.server.ui_url}/runs")
        page.get_by_role("link", name=reference).first.click()
        page.wait_for_url(f"**/runs/flow-run/{run_id}**")
        page.get_by_role("button", name="Resume", exact=True).click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text(reference, timeout=UI_TIMEOUT_MS)
        first_email = request.values["users"][0]["email"]
        expect(dialog).to_contain_text(first_email, timeout=UI_TIMEOUT_MS)
        expect(dialog).to_contain_text("Jaunie lietotāji / New users", timeout=UI_TIMEOUT_MS)

        dialog.locator("button.p-select-button__control").first.focus()
        page.keyboard.press("ArrowDown")
        page.get_by_role("option", name="approve", exact=True).click()
        staff = dialog.locator(
            ".schema-form-property",
            has=page.locator(".schema-form-property__label", has_text="Staff"),
        )
        staff.locator("textarea, input").first.fill("Ilze Kalniņa")
        comment = dialog.locator(
            ".schema-form-property",
            has=page.locator(".schema-form-property__label", has_text="Comment"),
        )
        # `str | None` renders as a str/None switch that starts on None.
        comment.get_by_role("button", name="str", exact=True).click()
        comment.locator("textarea, input").first.fill("Pārbaudīts / Checked")
        ARTIFACTS.mkdir(exist_ok=True)
        dialog.screenshot(path=str(SCREENSHOT))
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
        expect(dialog).to_be_hidden(timeout=UI_TIMEOUT_MS)

    journey.assert_carried_out(request)
    with journey.env.uow() as uow:
        approvals = uow.session.exec(
            select(Approval).where(Approval.application_id == application.id)
        ).all()
        decided = [(a.decision, a.staff, a.comment) for a in approvals]
    assert decided == [("approve", "Ilze Kalniņa", "Pārbaudīts / Checked")]
    assert SCREENSHOT.stat().st_size > 10_000
