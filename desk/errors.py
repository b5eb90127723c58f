"""Errors of the desk API and how they reach the client: JSON {"error": code, "reason": text}, never a traceback.

ApiError
├── BadRequest      400  the body or a parameter cannot be parsed
├── Unauthorized    401  no token, a forged or expired one, wrong credentials
├── Forbidden       403  the staff member's role does not allow it
├── NotFoundError   404  no such ticket
└── Unprocessable   422  well-formed but not acceptable (unknown status, a move the workflow forbids)
"""

from __future__ import annotations

import logging
from typing import Any

from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.views import json_reply
from service.logs import log_event

logger = logging.getLogger(__name__)


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


SANIC_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
               413: "payload_too_large", 503: "unavailable"}


def error_reply(error: ApiError) -> HTTPResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="desk"'} if error.status == 401 else None
    return json_reply(error.body(), status=error.status, headers=headers)


def register_error_handlers(app: Sanic) -> None:
    """API errors as they are, Sanic's own (no route, wrong method, too large) as JSON, anything else a bare 500."""

    @app.exception(ApiError)
    async def api_error(_request: Request, error: ApiError) -> HTTPResponse:
        return error_reply(error)

    @app.exception(SanicException)
    async def sanic_error(_request: Request, error: SanicException) -> HTTPResponse:
        status = int(getattr(error, "status_code", 500) or 500)
        if status >= 500:
            return await unexpected(_request, error)
        code = SANIC_CODES.get(status, "bad_request")
        return json_reply({"error": code, "reason": str(error) or code.replace("_", " ")}, status=status)

    @app.exception(Exception)
    async def unexpected(request: Request, error: Exception) -> HTTPResponse:
        route = request.route.path if request.route else "-"
        log_event(logger, "desk_error", level=logging.ERROR, method=request.method, route=route, error=type(error).__name__)
        logger.debug("desk_error traceback", exc_info=error)
        return json_reply({"error": "internal", "reason": "internal error; the desk log has the details"}, status=500)
