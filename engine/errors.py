"""The engine's error hierarchy; the API server maps each class to one HTTP status."""

from __future__ import annotations


class ServiceError(Exception):
    """Root of errors a caller caused and should be told about."""

    status = 400


class Invalid(ServiceError, ValueError):
    status = 422


class NotFound(ServiceError, LookupError):
    status = 404


class Forbidden(ServiceError, PermissionError):
    status = 403


class Conflict(ServiceError):
    status = 409
