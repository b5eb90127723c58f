"""Errors of the desk API and how they reach the client: JSON {"error": code, "reason": text}, never a traceback.

ApiError
├── BadRequest      400  the body or a parameter cannot be parsed
├── Unauthorized    401  no token, a forged or expired one, wrong credentials
├── Forbidden       403  the staff member's role does not allow it
├── NotFoundError   404  no such ticket
└── Unprocessable   422  well-formed but not acceptable (unknown status, a move the workflow forbids)

Sanic's own refusals keep their status and headers (405 with Allow, 426 with Upgrade) and get the same JSON body.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sanic import Sanic
from sanic.exceptions import InvalidUsage as SanicBadRequest
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.views import json_reply
from service.errors import InvalidInput, NotAllowed, NotFound
from service.logs import log_event

logger = logging.getLogger(__name__)
T = TypeVar("T")


class ApiError(Exception):
    status = 400

    def __init__(self, code: str, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.field = field

    def body(self) -> dict[str, Any]:
        body = {"error": self.code, "reason": self.reason}
        if self.field:
            body["field"] = self.field
        return body


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFoundError(ApiError):
    status = 404


class Unprocessable(ApiError):
    status = 422


@contextmanager
def service_refusals(forbidden: Collection[str] = (), field_codes: bool = False) -> Iterator[None]:
    """The service's refusals (service/errors.py) as API errors: NotFound a 404 not_found; NotAllowed a 403 when its
    code is one of `forbidden`, else a 422 with its code; InvalidInput a 422 naming the field, its code
    invalid_input (or invalid_<field> with `field_codes`)."""
    try:
        yield
    except NotFound as exc:
        raise NotFoundError("not_found", f"no {exc.kind} {exc.key}") from exc
    except NotAllowed as exc:
        if exc.code in forbidden:
            raise Forbidden(exc.code, str(exc)) from exc
        raise Unprocessable(exc.code, str(exc)) from exc
    except InvalidInput as exc:
        if field_codes:
            raise Unprocessable(f"invalid_{exc.field}", exc.reason, exc.field) from exc
        raise Unprocessable("invalid_input", f"{exc.field}: {exc.reason}", exc.field) from exc


async def in_thread(function: Callable[..., T], *args: Any, forbidden: Collection[str] = (),
                    field_codes: bool = False) -> T:
    """`function(*args)` in a worker thread, its refusals as API errors (service_refusals)."""
    with service_refusals(forbidden, field_codes):
        return await asyncio.to_thread(function, *args)


SANIC_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
               413: "payload_too_large", 426: "upgrade_required", 503: "unavailable"}
UPGRADE_REASON = "this route is a WebSocket: open it with a WebSocket client (Upgrade: websocket)"


def error_reply(error: ApiError) -> HTTPResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="desk"'} if error.status == 401 else None
    return json_reply(error.body(), status=error.status, headers=headers)


def sanic_error_reply(error: SanicException) -> HTTPResponse:
    """One of Sanic's own 4xx refusals as {"error", "reason"}, with the headers it carries (Allow on a 405)."""
    status = int(getattr(error, "status_code", 400) or 400)
    code = SANIC_CODES.get(status, "bad_request")
    headers = dict(getattr(error, "headers", None) or {})
    message: Any = error.args[0] if error.args else ""
    if status == 426:  # the WebSocket handshake's refusal carries the websockets package's raw bytes
        headers.setdefault("Upgrade", "websocket")
        reason = UPGRADE_REASON
    else:
        reason = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return json_reply({"error": code, "reason": reason.strip() or code.replace("_", " ")}, status=status,
                      headers=headers or None)


CONTENT_LENGTH = re.compile(r"[0-9]{1,19}")


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _utf8_name(name: str) -> str:
    return name if _utf8(name) else "(a name)"


def check_framing(request: Request) -> None:
    """400, before Sanic reads the body, for: a header that is not valid UTF-8; a URL with %00 (PostgreSQL can neither
    compare nor store NUL: a 500 there); body framing that Sanic 21.12 misreads (a Content-Length "abc" made it raise,
    a 500; "-1" made it loop forever draining the body, freezing the whole desk; a Transfer-Encoding other than chunked
    without a Content-Length raised too); both headers at once, a request-smuggling shape."""
    for name, value in request.headers.items():
        if not _utf8(value):  # Sanic keeps undecodable bytes as lone surrogates, which nothing after can encode
            raise SanicBadRequest(f"header {_utf8_name(name)} is not valid UTF-8")
    if "%00" in request.path.lower() or "%00" in request.query_string.lower():
        raise SanicBadRequest("the URL has a NUL character (%00), which no text field can hold")
    lengths = request.headers.getall("content-length", [])
    encodings = request.headers.getall("transfer-encoding", [])
    if any(not CONTENT_LENGTH.fullmatch(value.strip()) for value in lengths):
        raise SanicBadRequest("Content-Length must be a whole number of bytes")
    if len(lengths) > 1:
        raise SanicBadRequest("Content-Length given more than once")
    if encodings and (encodings != ["chunked"] or lengths):
        raise SanicBadRequest("Transfer-Encoding must be chunked alone, without Content-Length")


def register_error_handlers(app: Sanic) -> None:
    """API errors as they are, Sanic's own (no route, wrong method, too large) as JSON, anything else a bare 500;
    and a request whose framing Sanic would misread is refused before it reads the body."""

    @app.signal("http.lifecycle.request")
    async def refuse_bad_framing(request: Request) -> None:
        check_framing(request)

    @app.exception(ApiError)
    async def api_error(_request: Request, error: ApiError) -> HTTPResponse:
        return error_reply(error)

    @app.exception(SanicException)
    async def sanic_error(_request: Request, error: SanicException) -> HTTPResponse:
        status = int(getattr(error, "status_code", 500) or 500)
        if status >= 500:
            return await unexpected(_request, error)
        return sanic_error_reply(error)

    @app.exception(Exception)
    async def unexpected(request: Request, error: Exception) -> HTTPResponse:
        route = request.route.path if request.route else "-"
        log_event(logger, "desk_error", level=logging.ERROR, method=request.method, route=route, error=type(error).__name__)
        logger.debug("desk_error traceback", exc_info=error)
        return json_reply({"error": "internal", "reason": "internal error; the desk log has the details"}, status=500)
