"""The client's errors: one small hierarchy, so callers can tell "engine not running" from "you may
not do that" from "bad input" without looking at HTTP status codes.
"""

from __future__ import annotations

import json


class EngineError(Exception):
    """Root of every error the client raises."""

    def __init__(self, message: str, status: int = 0, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        # The request field the engine's refusal is about (its wire name), when it is one.
        self.field = field


class EngineUnavailable(EngineError, ConnectionError):
    pass


class Forbidden(EngineError, PermissionError):
    pass


class NotFound(EngineError, LookupError):
    pass


class Invalid(EngineError, ValueError):
    pass


class Conflict(Invalid):
    """The request clashes with what exists (a name taken, a template in use): 409."""


_BY_STATUS: dict[int, type[EngineError]] = {
    401: Forbidden,
    403: Forbidden,
    404: NotFound,
    400: Invalid,
    409: Conflict,
    422: Invalid,
}


def error_for(status: int, body: bytes) -> EngineError:
    """The error for a refused request: the engine's `{"error": ...}` message, else the body."""
    text = body.decode("utf-8", "replace")
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    message = payload.get("error", text) if isinstance(payload, dict) else text
    field = payload.get("field") if isinstance(payload, dict) else None
    error_class = _BY_STATUS.get(status, EngineError)
    return error_class(str(message), status, field if isinstance(field, str) else None)
