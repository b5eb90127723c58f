"""No full phone or ID card number in any log line: our loggers, Rasa's structlog ones, tracebacks, access logs."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog
from rasa.utils.log_utils import configure_structlog

from service.logs import ScrubbedLogRecord, install_log_scrubbing, log_event

PHONE, ID_NUMBER = "13800138000", "330106199001011234"
# 号 is \u53f7 in JSON (ensure_ascii) and %E5%8F%B7 in a URL: the number right after it must still be found.
TEXT = f"我叫张伟，手机号{PHONE}，身份证号{ID_NUMBER}，也可以打+86 139 0013 9000"
FULL_NUMBERS = (PHONE, ID_NUMBER, "13900139000", "139 0013 9000")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every record of the process, formatted like a log file, while scrubbing is installed."""
    factory, root = logging.getLogRecordFactory(), logging.getLogger()
    level, stream = root.level, io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    install_log_scrubbing()
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.setLogRecordFactory(factory)


def assert_clean(output: str) -> None:
    assert output.strip(), "nothing was logged"
    for number in FULL_NUMBERS:
        assert number not in output, output


def test_a_plain_logger_at_debug(captured: io.StringIO) -> None:
    logger = logging.getLogger("xiaozhi.test")
    logger.debug("user said %s", TEXT)
    logger.debug(f"slots {{'phone': '{PHONE}'}} bytes {TEXT.encode()!r}")
    logger.info("lookup %(phone)s", {"phone": PHONE})
    rebuilt = {"name": "xiaozhi.socket", "levelno": logging.INFO, "levelname": "INFO", "msg": "peer: %s", "args": (PHONE,)}
    logging.getLogger("xiaozhi.socket").handle(logging.makeLogRecord(rebuilt))  # as SocketHandler peers rebuild records
    log_event(logger, "lookup", logging.DEBUG, text=TEXT)
    output = captured.getvalue()
    assert_clean(output)
    assert "138****8000" in output and "330106********4" in output and "+86 139 **** 9000" in output


def test_an_exception_whose_message_holds_a_phone_number(captured: io.StringIO) -> None:
    logger = logging.getLogger("xiaozhi.test")
    try:
        raise ValueError(f"no customer with phone {PHONE}")
    except ValueError:
        logger.exception("lookup failed")
    try:
        raise KeyError("clean")
    except KeyError:
        logger.warning("stack for %s", PHONE, exc_info=True, stack_info=True)
    output = captured.getvalue()
    assert_clean(output)
    assert "ValueError: no customer with phone 138****8000" in output and "Traceback" in output


def test_fields_given_as_extra_like_sanics_access_log(captured: io.StringIO) -> None:
    access, stream = logging.getLogger("sanic.access"), io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(request)s %(status)d %(message)s"))  # Sanic's access format, shortened
    access.addHandler(handler)
    access.propagate = False
    try:
        access.info("", extra={"request": f"GET /api/tickets?q=%E5%8F%B7{PHONE}", "status": 200})
    finally:
        access.removeHandler(handler)
        access.propagate = True
    assert_clean(stream.getvalue())
    assert "%E5%8F%B7138****8000 200" in stream.getvalue()


@pytest.mark.parametrize("terminal", [False, True], ids=["json", "console"])
def test_rasas_structlog_lines(captured: io.StringIO, monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
    """structlog configured by Rasa's own configure_structlog (JSON when not on a terminal, colours when on one)."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    configure_structlog(logging.DEBUG)
    try:
        structlogger = structlog.get_logger()
        structlogger.debug("processor.message.parse", text=TEXT, parse_data_entities=[{"entity": "phone", "value": PHONE}])
        try:
            raise RuntimeError(f"action failed for {ID_NUMBER}")
        except RuntimeError:
            structlogger.exception("action.failed", slots={"phone": PHONE})
    finally:
        structlog.reset_defaults()
    output = captured.getvalue()
    assert "processor.message.parse" in output and "action.failed" in output
    assert_clean(output)


def test_installing_twice_changes_nothing_and_another_factory_is_kept() -> None:
    original = logging.getLogRecordFactory()
    made: list[str] = []

    def theirs(*args: object, **kwargs: object) -> logging.LogRecord:
        made.append("theirs")
        return logging.LogRecord(*args, **kwargs)  # type: ignore[arg-type]

    try:
        logging.setLogRecordFactory(logging.LogRecord)
        install_log_scrubbing()
        install_log_scrubbing()
        assert logging.getLogRecordFactory() is ScrubbedLogRecord
        logging.setLogRecordFactory(theirs)
        install_log_scrubbing()
        wrapped = logging.getLogRecordFactory()
        install_log_scrubbing()
        assert logging.getLogRecordFactory() is wrapped
        record = logging.getLogger("xiaozhi.test").makeRecord("x", logging.INFO, "f.py", 1, "phone %s", (PHONE,), None)
        assert made == ["theirs"] and record.getMessage() == "phone 138****8000"
    finally:
        logging.setLogRecordFactory(original)
