"""Reading requests and writing answers the same way on every route: bodies and queries
decoded with the wire schemas (a bad one is a 422 naming what is wrong), ids read from the
path, JSON written from schemas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from engine.api.schemas import ID_MAX, Schema, SchemaError, convert, decode, encode
from engine.errors import Invalid, NotFound

if TYPE_CHECKING:
    from engine.engine import Engine

M = TypeVar("M", bound=Schema)
ENGINE: web.AppKey[Engine] = web.AppKey("engine")


def engine_of(request: web.Request) -> Engine:
    return request.app[ENGINE]


def json_response(model: Schema | list[Any], status: int = 200) -> web.Response:
    return web.Response(body=encode(model), status=status, content_type="application/json")


async def parse_body(request: web.Request, schema: type[M]) -> M:
    try:
        return decode(await request.read(), schema)
    except SchemaError as exc:
        raise Invalid(str(exc)) from exc


def parse_query(request: web.Request, schema: type[M], *, lax: bool = False) -> M:
    """The query string as `schema`; `lax` reads numbers and booleans from their text."""
    try:
        return convert(dict(request.query), schema, lax=lax)
    except SchemaError as exc:
        raise Invalid(str(exc)) from exc


def path_id(request: web.Request, what: str) -> int:
    """The route's `{id}`, read one way for every route.

    Ids are at most `ID_MAX` (what every database holds). A number beyond that names nothing, so
    it is answered like any id that does not exist, 404 naming the thing: to the person
    asking it is simply not there, not a malformed request. (The route's `\\d+` also matches
    non-ASCII digits, and `int()` refuses thousands of digits: neither gets that far.)
    """
    text = request.match_info["id"]
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or int(text) > ID_MAX:
        raise NotFound(
            f"no {what} {text}" if len(text) <= 60 else f"no {what} of {len(text)} digits"
        )
    return int(text)
