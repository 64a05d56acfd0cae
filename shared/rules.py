"""The one exception a service's domain rules raise: which field, and why (zh / en), and the
HTTP status the route answers with (422 unless a rule says otherwise, e.g. 409)."""

from __future__ import annotations


class RuleViolation(ValueError):
    def __init__(self, field: str, reason: str, status_code: int = 422) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.status_code = status_code
