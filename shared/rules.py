"""The exceptions a service's domain rules raise; `shared.problems` turns each into one
problem+json answer, so no route writes an error body of its own.

- `RuleViolation`: a field broke a rule — which field, why (zh / en), and the status
  (422 unless a rule says otherwise, e.g. 409).
- `Refusal`: the request as a whole is refused — status, a machine-readable code, a
  sentence, and a few non-personal numbers a client may act on (a capacity, a version)."""

from __future__ import annotations


class RuleViolation(ValueError):
    def __init__(self, field: str, reason: str, status_code: int = 422) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.status_code = status_code


class Refusal(Exception):
    def __init__(self, status: int, reason: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.extra = extra
