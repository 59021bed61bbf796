"""The portal's plain configuration, made from the one Settings (the portal never sees them)."""

from __future__ import annotations

from datetime import timedelta

from flows.delivery import outbox_sender, transport_for
from flows.intake_wiring import limits_from
from flows.settings import Settings
from handlers.portal_sessions import SessionPolicy, ThrottlePolicy
from portal.config import PortalConfig


def portal_config(settings: Settings) -> PortalConfig:
    """Everything the portal takes from the settings, as values."""
    return PortalConfig(
        database_url=settings.resolved_database_url,
        home=settings.home,
        transport_factory=lambda: transport_for(settings),
        host=settings.portal_host,
        port=settings.portal_port,
        public_url=settings.portal_url.rstrip("/"),
        login_url=settings.login_url,
        reset_url=settings.password_reset_url,
        secure_cookies=settings.portal_secure_cookies,
        forwarded_allow_ips=settings.portal_forwarded_allow_ips,
        sessions=SessionPolicy(
            idle=timedelta(minutes=settings.portal_session_idle_minutes),
            absolute=timedelta(hours=settings.portal_session_hours),
        ),
        throttle=ThrottlePolicy(
            account_failures=settings.portal_lock_failures,
            address_failures=settings.portal_lock_address_failures,
            lock=timedelta(minutes=settings.portal_lock_minutes),
        ),
        intake_address=settings.intake_address,
        staff_email=settings.staff_email,
        limits=limits_from(settings),
        outbox_sender=outbox_sender(settings),
    )
