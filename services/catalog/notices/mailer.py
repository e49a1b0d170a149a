"""Delivers a notice by email over SMTP (`CATALOG_SMTP_*`), or only logs it when no server is set."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from typing import Literal

import structlog

from services.catalog.config import Settings

log = structlog.get_logger(__name__)

Delivery = Literal["sent", "logged"]


class Mailer:
    """Sends one message per call; the embedded default (no `smtp_host`) writes it to the log instead."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def message_id(self, key: str) -> str:
        """The Message-ID of the message about `key`: the same on every try, so that a message sent
        twice (a process that died before recording it sent) is one message to the mail clients."""
        domain = self.settings.smtp_from.rpartition("@")[2] or "localhost"
        return f"<{key}@{domain}>"

    async def send(self, *, to: str, subject: str, body: str, key: str) -> Delivery:
        """Send (or log) one message about `key`; raises on an SMTP failure (the caller retries later)."""
        if not self.settings.smtp_host:
            log.info("notice_logged", to=to, subject=subject, body=body, message_id=self.message_id(key))
            return "logged"
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.settings.smtp_from, to, subject
        message["Message-ID"] = self.message_id(key)
        message.set_content(body)
        await asyncio.to_thread(self._deliver, message)
        return "sent"

    def _deliver(self, message: EmailMessage) -> None:
        s = self.settings
        assert s.smtp_host is not None
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value() if s.smtp_password else "")
            smtp.send_message(message)
