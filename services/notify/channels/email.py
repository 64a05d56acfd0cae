"""Email over SMTP (aiosmtplib). The Message-ID is derived from the delivery id."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from services.notify.channels.base import OutgoingMessage, SendResult


class SmtpAdapter:
    channel = "email"

    def __init__(self, *, host: str, port: int, sender: str, username: str | None = None,
                 password: str | None = None, starttls: bool = False, use_tls: bool = False,
                 timeout_s: float = 10.0) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._username, self._password = username, password
        self._starttls, self._use_tls, self._timeout = starttls, use_tls, timeout_s

    async def send(self, message: OutgoingMessage) -> SendResult:
        email = EmailMessage()
        email["From"] = self._sender
        email["To"] = message.address
        email["Subject"] = message.subject or "Shouhu"
        email["Message-ID"] = f"<{message.delivery_id}@shouhu.notify>"
        email.set_content(message.text)
        try:
            await aiosmtplib.send(email, hostname=self._host, port=self._port, username=self._username,
                                  password=self._password, start_tls=self._starttls, use_tls=self._use_tls,
                                  timeout=self._timeout)
        except aiosmtplib.SMTPRecipientsRefused:
            return SendResult.give_up("invalid_address")
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600 and exc.code not in (552,):
                return SendResult.give_up("invalid_address") if exc.code in (550, 553) else \
                    SendResult.retry("provider_error")
            return SendResult.retry("provider_error")
        except aiosmtplib.SMTPTimeoutError:
            return SendResult.retry("timeout")
        except (aiosmtplib.SMTPException, OSError):
            return SendResult.retry("provider_error")
        return SendResult.sent(email["Message-ID"])
