"""Sending e-mail over SMTP (STARTTLS, implicit TLS or plain for a local relay)."""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from typing import Any

import aiosmtplib

from auterity_desktop.core.errors import ErrorCode, ServiceError

MAX_MESSAGE = 10 * 1024 * 1024


class EmailClient:
    def __init__(self, config: dict[str, Any], secrets: dict[str, str]) -> None:
        self.config = config
        self.password = secrets.get("password")
        self.timeout = float(config.get("timeout") or 30)

    async def close(self) -> None:
        return None  # each send opens and closes its own SMTP session

    def _options(self) -> dict[str, Any]:
        security = self.config.get("security", "starttls")
        options: dict[str, Any] = {
            "hostname": str(self.config["host"]),
            "port": int(self.config.get("port") or 587),
            "timeout": self.timeout,
            "use_tls": security == "tls",
            "start_tls": security == "starttls",
            "validate_certs": bool(self.config.get("verify_tls", True)),
        }
        if self.config.get("username"):
            options["username"] = str(self.config["username"])
            options["password"] = self.password or ""
        return options

    def _describe(self, exc: BaseException) -> ServiceError:
        where = f"{self.config.get('host')}:{self.config.get('port')}"
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return ServiceError(
                ErrorCode.UNAUTHENTICATED, f"{where} refused the user name or password", {}
            )
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            return ServiceError(
                ErrorCode.INVALID_INPUT, f"{where} refused the recipients: {exc}", {}
            )
        if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
            return ServiceError(ErrorCode.TIMEOUT, f"{where} did not answer in time", {})
        return ServiceError(
            ErrorCode.SERVICE_UNAVAILABLE, f"Cannot send through {where}: {exc}", {}
        )

    async def ping(self) -> float:
        """Connect, greet, log in and quit: what a send needs, without sending."""
        started = time.perf_counter()
        options = self._options()
        client = aiosmtplib.SMTP(
            hostname=options["hostname"],
            port=options["port"],
            timeout=self.timeout,
            use_tls=options["use_tls"],
            start_tls=options["start_tls"],
            validate_certs=options["validate_certs"],
        )
        try:
            await client.connect()
            if "username" in options:
                await client.login(options["username"], options["password"])
            await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise self._describe(exc) from None
        return time.perf_counter() - started

    async def send(
        self,
        to: str | list[str],
        subject: str,
        body: str,
        *,
        html: str | None = None,
        cc: str | list[str] | None = None,
    ) -> dict[str, Any]:
        recipients = [a for _, a in getaddresses([to] if isinstance(to, str) else list(to))]
        copies = [a for _, a in getaddresses([cc] if isinstance(cc, str) else list(cc or []))]
        if not recipients or not all("@" in a for a in recipients + copies):
            raise ServiceError(
                ErrorCode.INVALID_INPUT, f"{to!r} holds no valid e-mail address", {"to": to}
            )
        message = EmailMessage()
        message["From"] = str(self.config["from_address"])
        message["To"] = ", ".join(recipients)
        if copies:
            message["Cc"] = ", ".join(copies)
        message["Subject"] = str(subject)[:998]
        message["Message-ID"] = make_msgid(domain="auterity.local")
        message.set_content(str(body))
        if html:
            message.add_alternative(str(html), subtype="html")
        if len(message.as_bytes()) > MAX_MESSAGE:
            raise ServiceError(ErrorCode.PAYLOAD_TOO_LARGE, "The message is larger than 10 MB", {})
        started = time.perf_counter()
        try:
            await aiosmtplib.send(message, recipients=recipients + copies, **self._options())
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise self._describe(exc) from None
        return {
            "message_id": message["Message-ID"],
            "recipients": recipients + copies,
            "latency": time.perf_counter() - started,
        }
