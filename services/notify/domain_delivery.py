"""Delivery rules, pure: quiet hours, retry backoff, token buckets, address validation."""

from __future__ import annotations

import ipaddress
import random
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import phonenumbers


def parse_quiet_hours(text: str | None) -> tuple[time, time] | None:
    """'21:00-07:30' → (21:00, 07:30); '' or None → no quiet hours."""
    if not text:
        return None
    start, _, end = text.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def quiet_until(now: datetime, start: time | None, end: time | None, timezone: str) -> datetime | None:
    """When quiet hours end, if `now` lies inside them (a window may cross midnight); else None."""
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(ZoneInfo(timezone))
    clock = local.time().replace(tzinfo=None)
    crosses_midnight = start > end
    inside = (clock >= start or clock < end) if crosses_midnight else (start <= clock < end)
    if not inside:
        return None
    end_day = local.date()
    if crosses_midnight and clock >= start:
        end_day += timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=local.tzinfo)


def backoff_seconds(attempt: int, *, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [base·2^(n-1) / 2, base·2^(n-1)], capped."""
    ceiling = min(max_s, base_s * 2 ** max(attempt - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


def allowance(limit_per_minute: float, sent_in_last_minute: int) -> int:
    """How many more may go now under a sliding one-minute window (exact, unlike a bucket's burst)."""
    return max(0, int(limit_per_minute) - sent_in_last_minute)


class AddressError(ValueError):
    """An address a channel cannot use; the message says why, never the address."""


def normalise_mobile(raw: str, *, region: str = "CN") -> str:
    """E.164 of a mobile number, or AddressError: SMS to a landline never arrives."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise AddressError("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise AddressError("not a valid phone number")
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise AddressError("not a mobile number (SMS needs a mobile)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_webhook_url(url: str, *, allow_loopback_http: bool) -> str:
    """https only; plain http only to a loopback host, and only when allowed (development)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise AddressError("must be an absolute https URL")
    if parts.username or parts.password:
        raise AddressError("must not carry credentials in the URL")
    if parts.scheme == "http":
        if not (allow_loopback_http and _is_loopback(parts.hostname)):
            raise AddressError("must use https (plain http only to loopback in development)")
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_email(raw: str) -> str:
    local, at, domain = raw.strip().rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in raw.strip()):
        raise AddressError("not an email address")
    return raw.strip()
