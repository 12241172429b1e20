"""The engine's error hierarchy; the API server maps each class to one HTTP status.

An error about one field of a request carries the field's wire name in `field`, so a form
puts it under that field without reading the text. Messages are written field first
(`email_address: invalid address: 'abc'`); when no field is given, that leading name is it.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import NoResultFound

# "name: ..." or "attachment_ids.0: ...": a wire name, then a colon and a space.
_LEADING_FIELD = re.compile(r"([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*): ")


class ServiceError(Exception):
    """Root of errors a caller caused and should be told about."""

    status = 400

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        if field is None and (match := _LEADING_FIELD.match(message)) is not None:
            field = match.group(1)
        self.field = field


class Invalid(ServiceError, ValueError):
    status = 422


class NotFound(ServiceError, LookupError):
    status = 404


class Forbidden(ServiceError, PermissionError):
    status = 403


class Conflict(ServiceError):
    status = 409


# A row a service read with `get_one` was not there (it went away after its check). Named here
# so that the server answers it as a 404 without importing the database library.
MissingRow = NoResultFound
