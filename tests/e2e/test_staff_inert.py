"""What a client wrote stays plain text in the real Prefect UI: no link, image, heading or bold."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.test_staff_browser import UI_TIMEOUT_MS, chromium_page
from tests.support.flows_helpers import staff_cli
from tests.support.prefect_env import PrefectEnv, add_application, seed_contract

pytestmark = pytest.mark.slow

# Everything an element of the client's making would show up as, read from the live DOM.
CLIENT_MARKUP = """(root) => ({
  links: [...root.querySelectorAll('a')].map(a => a.getAttribute('href') || ''),
  images: [...root.querySelectorAll('img')].map(i => i.getAttribute('src') || ''),
  headings: [...root.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => h.textContent.trim()),
  emphasis: [...root.querySelectorAll('em,strong,del')].map(e => e.textContent.trim()),
  html: root.innerHTML,
})"""


class _Pixel(BaseHTTPRequestHandler):
    """A tracking-pixel server: it only records that it was asked."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        """Record the path and answer with nothing."""
        self.asked.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        """Quiet."""


@pytest.fixture
def pixel() -> Iterator[str]:
    """A real HTTP server on loopback standing in for a client's tracking pixel; its base URL."""
    _Pixel.asked = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pixel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def hostile_values(pixel: str) -> dict[str, Any]:
    """Form values a hostile client typed, each aiming at one kind of Markdown or HTML."""
    return {
        "customer_name": "[click](javascript:alert(1))",
        "submitter_position": f"![p]({pixel}/position.png)",
        "users": [
            {
                "first_name": "**APPROVED BY ADMIN**",
                "last_name": "# heading",
                "personal_code": None,
                "position": f'<img src="{pixel}/img.png">',
                "email": "hostile.user@ozols.lv",
                "phone": None,
            }
        ],
    }


def assert_inert(root: Locator, pixel: str) -> None:
    """The element shows the client's text literally and holds no element of the client's."""
    found = root.evaluate(CLIENT_MARKUP)
    assert not [href for href in found["links"] if "javascript" in href or pixel in href]
    assert not [src for src in found["images"] if pixel in src]
    assert not [h for h in found["headings"] if "heading" in h]
    assert not [e for e in found["emphasis"] if "APPROVED" in e]
    text = root.inner_text()
    for literal in ("**APPROVED BY ADMIN**", "# heading", "[click](javascript:alert(1))"):
        assert literal in text
    assert f"![p]({pixel}/position.png)" in text
    assert f'<img src="{pixel}/img.png">' in text


def watch_requests(page: Page, pixel: str) -> list[str]:
    """Every request the page makes to the pixel's address, as it happens."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if pixel in request.url else None)
    return seen


def test_client_text_is_inert_in_the_prefect_ui(prefect_env: PrefectEnv, pixel: str) -> None:
    """Run page, Resume dialog and review artifact show hostile values as text, fetch nothing."""
    books = seed_contract(prefect_env, users=1)
    application_id = add_application(prefect_env, books, "user_add", hostile_values(pixel))
    with prefect_env.uow() as uow:
        from handlers.models import Application

        row = uow.session.get(Application, application_id)
        assert row is not None
        row.filename = f"x`` ![f]({pixel}/file.png) ``.docx"
        reference = row.reference
        uow.session.add(row)
        uow.commit()
    run_id = prefect_env.wait_for_suspended(application_id)
    try:
        with chromium_page() as page:
            fetched = watch_requests(page, pixel)
            page.goto(f"{prefect_env.server.ui_url}/runs/flow-run/{run_id}")
            expect(page.locator("body")).to_contain_text(reference, timeout=UI_TIMEOUT_MS)
            page.get_by_role("button", name="Resume", exact=True).click()
            dialog = page.get_by_role("dialog")
            expect(dialog).to_contain_text("APPROVED BY ADMIN", timeout=UI_TIMEOUT_MS)
            assert_inert(dialog, pixel)
            assert f"x`` ![f]({pixel}/file.png) ``.docx" in dialog.inner_text()
            page.keyboard.press("Escape")

            page.goto(f"{prefect_env.server.ui_url}/artifacts/key/review-{reference.lower()}")
            page.locator("a[href^='/artifacts/artifact/']").first.click()
            expect(page.locator("body")).to_contain_text("APPROVED BY ADMIN", timeout=UI_TIMEOUT_MS)
            assert_inert(page.locator("body"), pixel)

            page.goto(f"{prefect_env.server.ui_url}/runs")
            expect(page.locator("body")).to_contain_text(reference, timeout=UI_TIMEOUT_MS)
            found = page.locator("body").evaluate(CLIENT_MARKUP)
            assert not [href for href in found["links"] if "javascript" in href]
            page.wait_for_load_state("networkidle")
        assert fetched == []
        assert _Pixel.asked == []
    finally:
        code, output = staff_cli("reject", reference, "--staff", "ilze", "--comment", "Tests")
        assert code == 0, output
