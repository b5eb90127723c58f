"""Exceptions of the service layer.

ServiceError
├── NotFound            a record the caller asked for does not exist
├── NotAllowed          a business rule forbids the operation (the reason is a code)
├── InvalidInput        a value from the customer or a client is malformed
└── BackendUnavailable  an external system timed out or failed; safe to retry later
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the service layer raises on purpose."""


class NotFound(ServiceError):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} not found")
        self.kind = kind
        self.key = key


class NotAllowed(ServiceError):
    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


class InvalidInput(ServiceError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class BackendUnavailable(ServiceError):
    def __init__(self, operation: str, cause: str) -> None:
        super().__init__(f"{operation} unavailable ({cause})")
        self.operation = operation
        self.cause = cause
