"""Clients in the portal, in Debian's Chromium: credentials from the mail to a run in Prefect."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import select

from flows.demo import form_values
from forms import render_form
from handlers import decisions
from handlers.models import LedgerEntry, User
from handlers.outbox import enqueue
from handlers.replies import addressee
from tests.e2e.journey import Journey, contract_ref, password_in, text_of
from tests.e2e.test_staff_browser import chromium_page
from tests.support.portal import RunningPortal, portal_config, serve_portal
from tests.support.prefect_env import seed_contract

pytestmark = pytest.mark.slow

MAIL_TIMEOUT = 120.0
CHROMIUM = "/usr/bin/chromium"


@contextmanager
def phone_without_javascript() -> Iterator[Page]:
    """Debian's Chromium as a small phone with JavaScript off: the portal must work so."""
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
            context = browser.new_context(
                viewport={"width": 360, "height": 740}, is_mobile=True, java_script_enabled=False
            )
            context.set_default_timeout(60_000)
            yield context.new_page()
        finally:
            browser.close()


def fits_the_screen(page: Page) -> bool:
    """True when the page needs no sideways scrolling (tables scroll inside their own box)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.fixture(scope="module")
def portal_site(journey: Journey) -> Iterator[RunningPortal]:
    """The portal on a free port (Secure cookies on), and serve mailing links that point at it."""
    env = journey.env
    config = portal_config(
        database_url=env.database_url, home=env.home, sink=journey.sink, secure_cookies=True
    )
    env.kill_serving()
    env.env.update(
        DOCINTAKE_LOGIN_URL=config.login_url, DOCINTAKE_PASSWORD_RESET_URL=config.reset_url
    )
    env.start_serving()
    with serve_portal(config) as running:
        yield running


def mail_to(journey: Journey, address: str, subject_part: str) -> EmailMessage:
    """Wait for the mail to this address whose subject holds `subject_part`."""

    def found() -> EmailMessage | None:
        for message in journey.sink.messages_to(address):
            if subject_part in str(message["Subject"]):
                return message
        return None

    message: EmailMessage = journey.env.wait_for(
        found, timeout=MAIL_TIMEOUT, what=f"mail '{subject_part}'"
    )
    return message


def link_in(message: EmailMessage, base_url: str) -> str:
    """The portal link a mail carries."""
    found = re.search(re.escape(base_url) + r"\S+", text_of(message))
    assert found is not None, text_of(message)
    return found.group(0)


def sign_in(page: Page, base_url: str, identifier: str, password: str) -> None:
    """Fill and send the sign-in form."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Lietotājvārds vai e-pasts").fill(identifier)
    page.get_by_label("Parole", exact=True).fill(password)
    page.get_by_role("button", name="Pieslēgties").click()


def set_new_password(page: Page, password: str) -> None:
    """Fill both new-password fields and save."""
    page.get_by_label("Jaunā parole (vismaz 12 zīmes)").fill(password)
    page.get_by_label("Jaunā parole vēlreiz").fill(password)
    page.get_by_role("button", name="Saglabāt").click()


def test_a_user_signs_in_with_mailed_credentials_and_serves_themselves(
    journey: Journey, portal_site: RunningPortal
) -> None:
    """Mailed password → forced change → balance → top-up and its invoice → phone → reset link."""
    books = seed_contract(journey.env, users=1)
    username = books.usernames[0]
    with journey.env.uow() as uow:
        user = uow.session.exec(select(User).where(User.username == username)).one()
        assert user.id is not None
        uow.session.add(LedgerEntry(user_id=user.id, amount=Decimal("30.00"), kind="opening"))
        # What an approved new user gets: serve delivers it, minting the temporary password.
        enqueue(
            uow.session,
            template="credentials",
            recipient=user.email,
            context={**addressee(user), "login_url": portal_site.config.login_url},
            dedupe_key=f"portal-e2e:{username}",
        )
        email = user.email
        uow.commit()
    temporary = password_in(mail_to(journey, email, "lietotāja rekvizīti"))
    base = portal_site.base_url
    chosen = "Mana-jauna-parole-1"
    with chromium_page() as page:
        sign_in(page, base, username, temporary)
        expect(page).to_have_url(f"{base}/password")
        expect(page.get_by_role("status")).to_contain_text("pagaidu paroli")
        page.get_by_label("Pašreizējā parole").fill(temporary)
        set_new_password(page, chosen)
        expect(page).to_have_url(f"{base}/account")
        expect(page.locator("#balance")).to_have_text("30,00 EUR")
        expect(page.get_by_role("cell", name=username)).to_be_visible()

        page.get_by_role("link", name="Konta papildināšana").click()
        page.get_by_label("Summa, EUR").fill("15,50")
        page.get_by_role("button", name="Papildināt").click()
        expect(page.get_by_role("status")).to_contain_text("Atlikums: 45,50 EUR")
        invoice = re.search(r"R-\d{4}-\d{6}", page.get_by_role("status").inner_text())
        assert invoice is not None

        page.get_by_role("link", name="Lietotāja informācija").click()
        page.get_by_label("Tālrunis").fill("+371 26 123 456")
        page.get_by_role("button", name="Saglabāt").click()
        expect(page.get_by_role("status")).to_have_text("Dati saglabāti.")

        page.get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("My details")
        page.get_by_role("link", name="Latviski").click()
        page.get_by_role("button", name="Atslēgties").click()
        expect(page).to_have_url(f"{base}/login")

        page.get_by_role("link", name="Aizmirsāt paroli?").click()
        page.get_by_label("Lietotājvārds vai e-pasts").fill(email)
        page.get_by_role("button", name="Sūtīt saiti").click()
        expect(page.get_by_role("status")).to_contain_text("Ja šāds lietotājs ir reģistrēts")
    invoice_mail = mail_to(journey, email, invoice.group(0))
    assert "15.50" in text_of(invoice_mail)
    reset_link = link_in(mail_to(journey, email, "Paroles atjaunošana"), base)
    final = "Atjaunota-parole-2"
    with chromium_page() as page:
        page.goto(reset_link)
        set_new_password(page, final)
        expect(page.get_by_role("status")).to_contain_text("Parole iestatīta")
        sign_in(page, base, email, final)
        expect(page).to_have_url(f"{base}/account")
        expect(page.locator("#balance")).to_have_text("45,50 EUR")
    with journey.env.uow() as uow:
        user = uow.session.exec(select(User).where(User.username == username)).one()
        assert user.phone == "+37126123456"
        assert not user.must_change_password


def test_an_authorized_person_submits_a_form_that_waits_for_staff(
    journey: Journey, portal_site: RunningPortal, tmp_path: Path
) -> None:
    """On a phone without JavaScript a person enrols and uploads a form: a suspended run."""
    books = seed_contract(journey.env, users=2)
    base = portal_site.base_url
    password = "Pilnvarota-parole-3"
    with chromium_page() as page:
        page.goto(f"{base}/password/forgot")
        page.get_by_label("Lietotājvārds vai e-pasts").fill(books.person_email)
        page.get_by_role("button", name="Sūtīt saiti").click()
        expect(page.get_by_role("status")).to_contain_text("Ja šāds lietotājs ir reģistrēts")
    link = link_in(mail_to(journey, books.person_email, "portālam"), base)
    values = form_values(
        "user_add", contract_ref(books), today=date.today(), tag="." + books.contract_no[2:]
    )
    document = tmp_path / "lietotaji.docx"
    document.write_bytes(render_form("user_add", "docx", values))
    with phone_without_javascript() as page:
        page.goto(link)
        set_new_password(page, password)
        expect(page.get_by_role("status")).to_contain_text("Parole iestatīta")
        sign_in(page, base, books.person_email, password)
        expect(page).to_have_url(f"{base}/applications")
        with page.expect_download() as blank:
            page.get_by_role("link", name="DOCX").first.click()
        assert blank.value.suggested_filename.endswith(".docx")
        page.get_by_label("Fails").set_input_files(str(document))
        page.get_by_role("button", name="Iesniegt").click()
        notice = page.get_by_role("status")
        expect(notice).to_contain_text("Saņemts: LUR-")
        found = re.search(r"LUR-\d{4}-\d{6}", notice.inner_text())
        assert found is not None
        reference = found.group(0)
        expect(page.locator("#applications")).to_contain_text(reference)
        assert fits_the_screen(page)
    application = decisions.find_application(reference, uow=journey.env.uow())
    assert application is not None
    assert application.id is not None
    assert application.sender == books.person_email
    run_id = journey.env.wait_for_suspended(application.id)
    assert journey.env.flow_run(run_id).state.name == "Suspended"
    with chromium_page() as page:
        sign_in(page, base, books.person_email, password)
        row = page.locator("#applications tr", has_text=reference)
        expect(row).to_contain_text("gaida apstiprinājumu")
