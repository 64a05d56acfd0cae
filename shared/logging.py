"""Structured JSON logs (structlog) that never carry personal data.

Log calls pass ids and counts only. As a second line of defence a processor drops any
key whose name suggests personal data, and values that look like a national ID number
or a mainland mobile number are masked wherever they appear.

Exceptions are logged by type, field paths and stack frames, never by message: a library's
message quotes the value it choked on (openpyxl names the cell text, pydantic the input,
PostgreSQL the duplicate key), and that value may be a child's or a guardian's name.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from types import TracebackType
from typing import Any, MutableMapping

import structlog
from structlog.typing import Processor

PERSONAL_KEYS = frozenset(
    {"name", "national_id", "id_number", "phone", "mobile", "address", "guardian", "parents",
     "notes", "note", "text", "body", "message_text", "email", "password", "token"}
)
_ID_NUMBER = re.compile(r"\b\d{17}[\dXx]\b")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,100}$")


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return _MOBILE.sub("[phone]", _ID_NUMBER.sub("[id]", value))
    return value


def scrub_personal_data(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key in PERSONAL_KEYS:
            event_dict[key] = "[redacted]"
        else:
            event_dict[key] = _scrub_value(event_dict[key])
    return event_dict


def describe_exception(exc: BaseException) -> str:
    """The exception's type and, where it has them, the paths of the fields it is about."""
    kind = type(exc).__qualname__
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic and FastAPI validation errors
        try:
            paths = sorted({".".join(str(part) for part in error.get("loc", ())) for error in errors()})
            return f"{kind} (fields: {', '.join(paths)})"
        except Exception:  # errors() of another library: its type is enough
            return kind
    field = getattr(exc, "field", None)  # RuleViolation and the like
    return f"{kind} (field: {field})" if isinstance(field, str) and _FIELD_PATH.match(field) else kind


def format_exception_safely(exc_info: tuple[type[BaseException], BaseException, TracebackType | None]) -> str:
    """A traceback (frames and types, causes first) without any exception message."""
    chain: list[BaseException] = []
    exc: BaseException | None = exc_info[1]
    while exc is not None and exc not in chain and len(chain) < 10:
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    parts = []
    for exc in reversed(chain):
        frames = traceback.format_list(traceback.extract_tb(exc.__traceback__))
        parts.append("Traceback (most recent call last):\n" + "".join(frames) + describe_exception(exc))
    return "\n\nwhich then raised:\n".join(parts)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Called once by each process entry point, never at import.

    Records from libraries (uvicorn's tracebacks, asyncpg) go through the same JSON
    renderer and the same scrubbing as our own: an exception message can quote a value.
    """
    shared_processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared_processors, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.ExceptionRenderer(format_exception_safely),
            scrub_personal_data,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries' chatter stays out of the way; their warnings and errors still show.
    for noisy in ("aiokafka", "kafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
