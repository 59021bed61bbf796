"""The one Settings of docintake, read from DOCINTAKE_* variables and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of docintake; built once in the composition root and passed down as values."""

    model_config = SettingsConfigDict(
        env_prefix="DOCINTAKE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(Path("var"), description="The one folder docintake writes to.")
    database_url: str | None = Field(
        None, description="Accounts database URL; default: SQLite file under home."
    )

    # Outgoing mail. No smtp_host: messages are written as .eml files to home/outbox.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "Datubāzu abonēšana <pieteikumi@example.lv>"
    login_url: str = Field(
        "http://127.0.0.1:8000/login", description="Sign-in page named in credentials mail."
    )
    password_reset_url: str = Field(
        "http://127.0.0.1:8000/password/reset",
        description="Password-reset page; the one-time token is added to it.",
    )
    staff_email: str = "staff@example.lv"

    # The provider: named in every mail, the seller on every invoice.
    provider_name: str = Field(
        'SIA "Datubāzu abonēšana"', description="The provider's name in mail and invoices."
    )
    provider_reg_no: str = Field("40103999993", description="Seller's registration number.")
    provider_vat_no: str = Field("LV40103999993", description="Seller's VAT number.")
    provider_address: str = Field(
        "Elizabetes iela 10, Rīga, LV-1010", description="Seller's legal address."
    )
    provider_bank: str = Field("AS Piemēra banka", description="Seller's bank.")
    provider_swift: str = Field("BANKLV2X", description="Seller's bank SWIFT/BIC.")
    provider_iban: str = Field("LV80BANK0000435195001", description="Seller's account (IBAN).")
    invoice_font_dir: Path = Field(
        Path("/usr/share/fonts/truetype/dejavu"),
        description="Folder with DejaVuSans.ttf and DejaVuSans-Bold.ttf (Debian fonts-dejavu-core)"
        " embedded in invoice PDFs for the Latvian letters.",
    )

    # Incoming mail.
    intake_address: str = "pieteikumi@example.lv"
    imap_host: str | None = None
    imap_port: int = 993
    imap_ssl: bool = True
    imap_username: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_processed_folder: str = "Processed"
    imap_rejected_folder: str = "Rejected"
    smtp_listen_host: str | None = None
    smtp_listen_port: int = 2525
    sender_verification: Literal["require", "flag", "off"] = Field(
        "require",
        description="require: only mail our boundary verified is read; flag: unverified mail"
        " is read, marked 'sender not verified' and needs two approvers; off: the From is"
        " believed (demo).",
    )
    trusted_authserv_ids: str = Field(
        "",
        description="Comma-separated authserv-ids whose Authentication-Results count (the"
        " receiving MTA's or mail provider's, e.g. mx.example.lv).",
    )
    authserv_id: str = Field(
        "docintake",
        description="The authserv-id the SMTP listener stamps on the mail it verified itself.",
    )
    dns_servers: str = Field(
        "",
        description="Comma-separated host[:port] DNS servers for the listener's SPF/DKIM/DMARC"
        " checks; empty: the system's resolver.",
    )
    # The old switch: true meant "dmarc=pass required", which `require` now is.
    require_dmarc_pass: bool | None = None
    max_attachments: int = 10
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_message_bytes: int = 25 * 1024 * 1024
    poll_seconds: float = 5.0
    parse_budget_seconds: float = Field(
        2.0,
        gt=0,
        description="Longest one document may take to read (in a worker process); past it the"
        " document is answered as unreadable.",
    )
    parse_workers: int = Field(
        2, ge=1, description="Worker processes that read documents (started once, kept)."
    )
    housekeeping_seconds: float = Field(
        30.0,
        description="How often serve restarts runs a crash or shutdown interrupted and sends"
        " mail that is due.",
    )

    # The clients' portal (portal/).
    portal_host: str = Field("127.0.0.1", description="Address the portal listens on.")
    portal_port: int = Field(8000, description="Port the portal listens on.")
    portal_url: str = Field(
        "http://127.0.0.1:8000", description="The portal's public address (links in its mail)."
    )
    portal_secure_cookies: bool = Field(
        True, description="Mark cookies Secure (HTTPS only); off only for a plain-http demo."
    )
    portal_session_idle_minutes: int = 30
    portal_session_hours: int = 12
    portal_lock_failures: int = Field(5, description="Failed sign-ins per account before a lock.")
    portal_lock_address_failures: int = Field(
        20, description="Failed sign-ins per client address before a lock."
    )
    portal_lock_minutes: int = 15
    portal_forwarded_allow_ips: str = Field(
        "",
        description="Comma-separated reverse-proxy addresses whose X-Forwarded-For/-Proto are"
        " believed (uvicorn's forwarded_allow_ips); empty: none.",
    )

    # Prefect.
    prefect_port: int = 4200
    runner_poll_seconds: float = 2.0
    engine: Literal["in-process", "subprocess"] = Field(
        "in-process",
        description="How serve/worker execute runs: in-process (one long-lived process, runs"
        " on threads) or subprocess (Prefect's Runner: a new process per run, for isolation).",
    )
    engine_concurrency: int = Field(
        16, ge=1, description="Runs one in-process engine executes at once."
    )
    engine_max_rss_mb: float = Field(
        1024.0,
        ge=0,
        description="An engine process above this resident memory hands over to a fresh one"
        " (0: never).",
    )
    engine_max_age_seconds: float = Field(
        6 * 3600.0,
        ge=0,
        description="An engine process this old hands over to a fresh one (0: never).",
    )
    engine_grace_seconds: float = Field(
        10.0,
        ge=0,
        description="On stop or hand-over, how long executing runs get to finish before they"
        " are left to the next engine (rescheduled).",
    )
    # Subprocess engine only: flow-run processes at once (each imports Prefect: ~100 MB).
    runner_process_limit: int = 4
    heartbeat_seconds: int = Field(
        30, ge=30, description="How often a running flow run says it is alive (Prefect: >= 30)."
    )
    unresponsive_seconds: float = Field(
        120.0,
        description="A run silent this long while running has lost its process: it is marked"
        " Crashed, then restarted. Must exceed heartbeat_seconds.",
    )
    staff_totp_key: SecretStr | None = Field(
        None,
        description="Fernet key that encrypts staff TOTP secrets in the database; unset: a key"
        " file under home (one machine). Every worker and the CLI need the same key.",
    )
    decision_wait_seconds: float = Field(
        60.0, description="How long `requests approve|reject` waits for the run's outcome."
    )
    reminder_working_days: int = 2
    expiry_days: int = 30
    public_url: str = Field(
        "http://127.0.0.1:4200", description="Where staff open the Prefect UI (links in mail)."
    )

    @model_validator(mode="after")
    def _silence_outlasts_a_heartbeat(self) -> Settings:
        if self.unresponsive_seconds <= self.heartbeat_seconds:
            raise ValueError(
                "unresponsive_seconds must exceed heartbeat_seconds, or live runs get crashed"
            )
        return self

    @property
    def verification_level(self) -> Literal["require", "flag", "off"]:
        """The verification level; the old DOCINTAKE_REQUIRE_DMARC_PASS=true forces require."""
        return "require" if self.require_dmarc_pass else self.sender_verification

    @property
    def trusted_ids(self) -> tuple[str, ...]:
        """The trusted authserv-ids as a tuple, lower-cased."""
        return tuple(i.strip().lower() for i in self.trusted_authserv_ids.split(",") if i.strip())

    @property
    def resolved_database_url(self) -> str:
        """The accounts database URL, defaulting to a SQLite file under home."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'docintake.db').resolve()}"

    @property
    def inbox_dir(self) -> Path:
        """Drop folder for incoming `.eml` files."""
        return self.home / "inbox"

    @property
    def messages_dir(self) -> Path:
        """Raw messages stored by sha256."""
        return self.home / "messages"

    @property
    def outbox_dir(self) -> Path:
        """Where outgoing mail is written when no SMTP host is set."""
        return self.home / "outbox"

    @property
    def staff_key_file(self) -> Path:
        """Where the staff-secret key lives when DOCINTAKE_STAFF_TOTP_KEY is unset."""
        return self.home / "staff-totp.key"

    @property
    def prefect_home(self) -> Path:
        """The local Prefect server's data."""
        return self.home / "prefect"
