"""Versions as HTTP conditional requests (RFC 9110): a versioned record's `ETag` is its
version (`"3"`); a change names the version it was made on with `If-Match`. Missing where
required: 428; stale: 412 with the current version; not a version: 422."""

from __future__ import annotations

from typing import Annotated, Any, Callable, Mapping

from fastapi import Header

from shared.rules import Refusal, RuleViolation

IfMatch = Annotated[str | None, Header(
    alias="If-Match", description='the ETag of the version you changed, e.g. "3" (W/"3" and 3 are accepted)')]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=200,
    description="any unique string (1-200 characters); a retry with the same key and body gets the first "
                "answer instead of a second record")]


def etag(version: int) -> str:
    return f'"{version}"'


def etag_headers(body: Mapping[str, Any] | None) -> dict[str, str]:
    """`ETag` for a JSON body that carries its record's `version` (also a stored answer
    replayed for an Idempotency-Key), else none."""
    version = body.get("version") if isinstance(body, Mapping) else None
    return {"ETag": etag(version)} if isinstance(version, int) else {}


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    cleaned = value.strip().removeprefix("W/").strip('"')
    if not cleaned.isdigit() or len(cleaned) > 18:
        raise RuleViolation("header.If-Match", 'the ETag of the version you read, e.g. "3"')
    return int(cleaned)


def expected_version(if_match: str | None, body_version: int | None = None) -> int:
    """The version a change applies to: If-Match, else the body's `version`; neither: 428."""
    version = parse_if_match(if_match)
    if version is not None:
        return version
    if body_version is not None:
        return body_version
    raise RuleViolation("header.If-Match", "required: the ETag of the version you changed", 428)


def stale(current_version: int | None = None) -> Refusal:
    """To raise when the record is no longer at the version the client named."""
    extra = {"version": current_version} if current_version is not None else {}
    return Refusal(412, "stale_version", "the record changed since you read it; read it again and re-apply "
                                         "your change", **extra)


# What a store calls with the stored version (None: nothing stored yet) before it creates
# or replaces a record; raises to refuse.
Precondition = Callable[[int | None], None]


def put_precondition(if_match: str | None) -> Precondition:
    """PUT that creates or replaces (RFC 9110): creating needs no `If-Match`; replacing an
    existing record needs the version it was read at — missing 428, stale 412. An `If-Match`
    naming a version of a record that does not exist is 412 too. The header is parsed
    (422) before any work is done."""
    version = parse_if_match(if_match)

    def check(current: int | None) -> None:
        if current is None:
            if version is not None:
                raise stale()
            return
        if version is None:
            raise RuleViolation("header.If-Match", "required to replace a stored record: the ETag of the "
                                                   "version you changed", 428)
        if version != current:
            raise stale(current)

    return check


def no_precondition(current: int | None) -> None:
    """For the service's own writes (seeding, tests): no client read the record first."""
