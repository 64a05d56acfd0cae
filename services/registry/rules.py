"""The one exception the registry's rules raise: which field, and why (zh / en)."""

from __future__ import annotations


class RuleViolation(ValueError):
    def __init__(self, field: str, reason: str, status_code: int = 422) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.status_code = status_code
