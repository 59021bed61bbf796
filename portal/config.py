"""What the portal is given by the composition root: plain values, never the flows' Settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from handlers.portal_sessions import SessionPolicy, ThrottlePolicy
from intake.mime import Limits
from notifications.smtp import Transport


@dataclass(frozen=True)
class PortalConfig:
    """Everything the portal needs: database, home, addresses, cookie and lock policies, mail."""

    database_url: str
    home: Path
    transport_factory: Callable[[], Transport]
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    login_url: str = "http://127.0.0.1:8000/login"
    reset_url: str = "http://127.0.0.1:8000/password/reset"
    secure_cookies: bool = True
    forwarded_allow_ips: str = ""
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    # Password reminders per typed name and per address, so nobody floods a mailbox with them.
    reminder_throttle: ThrottlePolicy = field(
        default_factory=lambda: ThrottlePolicy(account_failures=3, address_failures=20)
    )
    intake_address: str = "pieteikumi@example.lv"
    staff_email: str = "staff@example.lv"
    limits: Limits = field(default_factory=Limits)

    @property
    def address(self) -> str:
        """Where the portal listens, as a URL."""
        return f"http://{self.host}:{self.port}"
