"""The portal application: routes, static files, security headers, and how refusals look."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from handlers.db import make_engine
from portal import routes_account, routes_auth, routes_person
from portal.config import PortalConfig
from portal.web import (
    CsrfRefused,
    Portal,
    RedirectTo,
    redirect,
    render,
    template_environment,
)

STATIC = Path(__file__).parent / "static"
# No inline script or style anywhere, so the policy can forbid them; nothing from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def security_headers(secure: bool) -> dict[str, str]:
    """The headers every answer carries."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        # Reset and confirmation links carry their token in the URL: never pass it on.
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def create_app(config: PortalConfig) -> FastAPI:
    """The portal for this configuration (its engine is made here, not at import)."""
    app = FastAPI(title="docintake portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = Portal(
        config=config,
        engine=make_engine(config.database_url),
        templates=template_environment(),
    )
    headers = security_headers(config.secure_cookies)

    @app.middleware("http")
    async def add_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(headers)
        if not request.url.path.startswith("/static/"):
            # Pages show balances and personal data: no shared or back-button cache.
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(RedirectTo)
    async def on_redirect(request: Request, exc: RedirectTo) -> Response:
        return redirect(exc.path)

    @app.exception_handler(CsrfRefused)
    async def on_csrf(request: Request, exc: CsrfRefused) -> Response:
        return render(request, "message.html.j2", status_code=403, message_key="csrf")

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return render(request, "message.html.j2", status_code=404, message_key="not_found")
        return Response(str(exc.detail), status_code=exc.status_code)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(routes_auth.router)
    app.include_router(routes_account.router)
    app.include_router(routes_person.router)
    return app
