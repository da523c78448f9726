"""The notification relays' settings, from ``METERLINE_SMTP_*`` (docs/notifications.md)."""

from __future__ import annotations

from streams.notify.email import SmtpSettings
from streams.settings import Settings


def smtp_settings(settings: Settings) -> SmtpSettings:
    return SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        tls=settings.smtp_tls,
        username=settings.smtp_username,
        password=settings.smtp_password,
        sender=settings.smtp_sender,
    )
