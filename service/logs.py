"""Structured (logfmt) log events that never carry personal data, and the scrubbing of every log record.

`log_event` is how our code logs. `install_log_scrubbing()` is for whole processes (desk, Rasa, action
server): it masks full mobile and ID card numbers in every record any library makes, Rasa's included
(Rasa 3.6 logs through structlog into stdlib logging, so its lines are records too).
"""

from __future__ import annotations

import logging
from typing import Any

from service.privacy import scrub, scrub_data, scrub_identifiers

__all__ = ["ScrubbedLogRecord", "install_log_scrubbing", "log_event", "scrub_record"]

_TRACEBACKS = logging.Formatter()
# What every LogRecord has; anything else on a record came in through `extra=` (e.g. Sanic's access log).
_STANDARD = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message", "asctime", "scrubbed_message"}


def _value(value: Any) -> str:
    text = scrub(str(value))
    return f'"{text}"' if (" " in text or "=" in text or not text) else text


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """`event key=value ...`; values pass through privacy.scrub, so phones and addresses are masked."""
    if not logger.isEnabledFor(level):
        return
    parts = [event] + [f"{key}={_value(value)}" for key, value in fields.items()]
    logger.log(level, " ".join(parts))


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask identifiers in the record's message (rendered now), exception text and stack, in place."""
    try:
        message = logging.LogRecord.getMessage(record)  # msg % args, not yet scrubbed
    except Exception:  # bad format arguments: logging would print msg and args raw to stderr
        message = f"{record.msg} (unformattable arguments: {record.args!r})"
    record.msg, record.args = scrub_identifiers(message), ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = _TRACEBACKS.formatException(record.exc_info)
        record.exc_text = scrub_identifiers(text)
        if record.exc_text != text:
            # Formatters print exc_text; drop the exception itself, so that no handler renders it again
            # from the raw exception (its message held a number).
            record.exc_info = None
    elif record.exc_text:
        record.exc_text = scrub_identifiers(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub_identifiers(record.stack_info)
    return record


def _scrub_extras(record: logging.LogRecord) -> None:
    for key, value in vars(record).items():
        if key not in _STANDARD and isinstance(value, (str, dict, list, tuple)):
            record.__dict__[key] = scrub_data(value, scrub_identifiers)


class ScrubbedLogRecord(logging.LogRecord):
    """A LogRecord whose message, exception text, stack and `extra=` fields have identifiers masked."""

    scrubs_personal_data = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scrub_record(self)
        self.scrubbed_message = self.msg

    def getMessage(self) -> str:  # noqa: N802 (logging's name)
        # `extra=` fields are set after the record factory ran; every formatter asks for the message first.
        _scrub_extras(self)
        if self.msg is self.scrubbed_message and not self.args:
            return self.msg
        # msg or args set after __init__ (logging.makeLogRecord, a filter): scrubbed again
        return scrub_identifiers(super().getMessage())


def install_log_scrubbing() -> None:
    """Mask full mobile and ID card numbers in every log record of this process, from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "scrubs_personal_data", False):
        return
    if current is logging.LogRecord:
        logging.setLogRecordFactory(ScrubbedLogRecord)
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:  # someone else's factory: scrub what it makes
        return scrub_record(current(*args, **kwargs))

    factory.scrubs_personal_data = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
