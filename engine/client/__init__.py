"""Async client of the engine's control API: the only way consoles and `ctl` reach the engine."""

from engine.client.client import (
    EngineClient,
    EngineError,
    EngineUnavailable,
    Forbidden,
    Invalid,
    NotFound,
)
from engine.client.errors import Conflict

__all__ = [
    "Conflict",
    "EngineClient",
    "EngineError",
    "EngineUnavailable",
    "Forbidden",
    "Invalid",
    "NotFound",
]
