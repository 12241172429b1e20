"""The public web service's HTTP side: routes, the headers every answer carries, the limit
per client, and the listener (`postdesk web`, its own process: see docs/web.md).

A route reads the token from its path, calls one method of `CustomerFeedback` and renders a
page; it holds no SQL (import-linter: "the web service holds no SQL"). Anything that is not a
live token of ours, a forged one included, is the same plain 404 page and changes nothing.

Link scanners (Safe Links, mail gateways, image proxies) fetch every GET in a mail, so no GET
records anything but the tracking image, whose fetch is what it counts: the rating link opens a
page with the score preselected and one button that POSTs it; the unsubscribe link opens a
page with one button. Mailbox providers' one-click unsubscribe (RFC 8058) is a POST with
`List-Unsubscribe=One-Click` and gets an empty 200, no page.

The POSTs carry no cookie and no session: the capability is the token in the URL, which only
the mail's reader has. A browser POST from another site (cross-site form) is refused with 403
by its `Sec-Fetch-Site`/`Origin` headers, so a page elsewhere cannot post a rating or
unsubscribe even with a token it learned; mailbox providers' servers send neither header.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from engine.aiohttp_release import release_middleware_chains
from engine.domain.web_links import PIXEL_GIF, parse_score
from engine.services.customer.feedback import CustomerFeedback
from engine.web import pages
from engine.web.limits import RateLimiter, client_key, trusted_proxies

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_BODY = 16 * 1024  # a form with one field; RFC 8058's one line
ONE_CLICK = "One-Click"

SECURITY_HEADERS = {
    "Content-Security-Policy": pages.CSP,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
FEEDBACK: web.AppKey[CustomerFeedback] = web.AppKey("feedback", CustomerFeedback)
LIMITER: web.AppKey[RateLimiter] = web.AppKey("limiter", RateLimiter)
TRUSTED: web.AppKey[frozenset[str]] = web.AppKey("trusted", frozenset)
ORIGIN: web.AppKey[str] = web.AppKey("origin", str)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def not_found() -> web.Response:
    return _html(pages.message("Not found", "This link is not valid."), 404)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The limit per client, then the route; every answer gets the security headers, and an
    unexpected failure is logged and answered plainly (input alone never causes one)."""
    app = request.app
    key = client_key(request.remote, request.headers.get("X-Forwarded-For", ""), app[TRUSTED])
    wait = app[LIMITER].wait(key)
    response: web.StreamResponse
    if wait > 0:
        response = _html(pages.message("Too many requests", "Please try again shortly."), 429)
        response.headers["Retry-After"] = str(max(1, round(wait + 0.5)))
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status == 404:
                response = not_found()
            elif exc.status == 405:
                response = _html(pages.message("Not allowed", "This page cannot do that."), 405)
                response.headers["Allow"] = exc.headers.get("Allow", "")
            elif exc.status == 413:
                response = _html(pages.message("Too large", "That request is too large."), 413)
            else:
                response = _html(pages.message("Bad request", "That did not work."), 400)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("public web request %s %s failed", request.method, request.path)
            response = _html(pages.message("Sorry", "Something went wrong; try again."), 503)
    response.headers.update(SECURITY_HEADERS)
    return response


def _cross_site(request: web.Request) -> bool:
    """A browser form posted from another site. `Origin: null` is ours posting under
    Referrer-Policy no-referrer (the Fetch standard sends null then)."""
    site = request.headers.get("Sec-Fetch-Site", "")
    if site and site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin", "")
    return bool(origin) and origin != "null" and origin != request.app[ORIGIN]


async def _form(request: web.Request) -> dict[str, str]:
    try:
        data = await request.post()
    except (ValueError, UnicodeDecodeError, AssertionError) as exc:
        raise web.HTTPBadRequest() from exc
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _token(request: web.Request) -> str:
    return request.match_info["token"]


# ---- rating ----


async def get_rating(request: web.Request) -> web.StreamResponse:
    """The rating page: the link's score preselected; nothing is recorded."""
    token = _token(request)
    wanted = request.match_info.get("score")
    chosen = parse_score(wanted) if wanted is not None else None
    if wanted is not None and chosen is None:
        return not_found()
    found = await request.app[FEEDBACK].rating_page(token)
    if found is None:
        return not_found()
    return _html(
        pages.rating(f"/r/{token}", found.campaign, found.motivation, chosen or found.score)
    )


async def post_rating(request: web.Request) -> web.StreamResponse:
    token = _token(request)
    if _cross_site(request):
        return _html(pages.message("Not allowed", "Rate from the link in your mail."), 403)
    form = await _form(request)
    score = parse_score(form.get("score", ""))
    feedback = request.app[FEEDBACK]
    if score is None:
        found = await feedback.rating_page(token)
        if found is None:
            return not_found()
        return _html(pages.rating(f"/r/{token}", found.campaign, found.motivation, None), 400)
    if await feedback.rate(token, score) is None:
        return not_found()
    return see_other(f"/r/{token}/thanks")


async def get_thanks(request: web.Request) -> web.StreamResponse:
    token = _token(request)
    found = await request.app[FEEDBACK].rating_page(token)
    if found is None:
        return not_found()
    if found.score is None:  # not rated yet: the choice first
        return see_other(f"/r/{token}")
    return _html(pages.thanks(found.campaign, found.thanks, found.score))


# ---- seen ----


async def get_pixel(request: web.Request) -> web.StreamResponse:
    """The tracking image: each fetch is counted (that is what it is for), then answered."""
    if not await request.app[FEEDBACK].seen(_token(request)):
        return not_found()
    return web.Response(body=PIXEL_GIF, content_type="image/gif")


# ---- unsubscribe ----


async def get_unsubscribe(request: web.Request) -> web.StreamResponse:
    token = _token(request)
    found = await request.app[FEEDBACK].unsubscribe_page(token)
    if found is None:
        return not_found()
    if found.done:
        return _html(pages.unsubscribed(found.campaign))
    return _html(pages.unsubscribe(f"/u/{token}", found.campaign))


async def post_unsubscribe(request: web.Request) -> web.StreamResponse:
    """RFC 8058 one-click (an empty 200) or the confirm page's button (a page)."""
    token = _token(request)
    if _cross_site(request):
        return _html(pages.message("Not allowed", "Use the link in your mail."), 403)
    form = await _form(request)
    one_click = form.get("List-Unsubscribe") == ONE_CLICK
    if not one_click and form.get("confirm") != "1":
        return (
            not_found()
            if await request.app[FEEDBACK].unsubscribe_page(token) is None
            else (_html(pages.message("Bad request", "Use the button on the page."), 400))
        )
    source = "one-click" if one_click else "unsubscribe-link"
    found = await request.app[FEEDBACK].unsubscribe(token, source)
    if found is None:
        return not_found()
    if one_click:
        return web.Response(status=200, text="", content_type="text/plain")
    return _html(pages.unsubscribed(found.campaign))


async def get_root(request: web.Request) -> web.StreamResponse:
    return not_found()


def build_app(
    feedback: CustomerFeedback,
    *,
    base_url: str,
    rate: float,
    burst: int,
    trusted: str = "",
) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY)
    app[FEEDBACK] = feedback
    app[LIMITER] = RateLimiter(rate, burst)
    app[TRUSTED] = trusted_proxies(trusted)
    parts = urlsplit(base_url)
    app[ORIGIN] = f"{parts.scheme}://{parts.netloc}"
    app.router.add_get("/", get_root)
    app.router.add_get("/r/{token}", get_rating)
    app.router.add_get("/r/{token}/thanks", get_thanks)
    app.router.add_get("/r/{token}/{score}", get_rating)
    app.router.add_post("/r/{token}", post_rating)
    app.router.add_get("/p/{token}.gif", get_pixel)
    app.router.add_get("/u/{token}", get_unsubscribe)
    app.router.add_post("/u/{token}", post_unsubscribe)
    return app


class WebService:
    """One listener of the public web service on `host:port` (port 0: any free one)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        # No access log: it would keep every client's address with the token they used.
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port, reuse_address=True)
        await site.start()
        server = site._server  # noqa: SLF001 - aiohttp keeps the bound port only here
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        release_middleware_chains()  # they hold this app and its services (aiohttp_release)


async def serve(
    feedback: CustomerFeedback,
    *,
    host: str,
    port: int,
    base_url: str,
    rate: float,
    burst: int,
    trusted: str = "",
) -> None:
    """Run until SIGINT or SIGTERM (`postdesk web`)."""
    service = WebService(
        build_app(feedback, base_url=base_url, rate=rate, burst=burst, trusted=trusted)
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start(host, port)
    log.info("public web service on %s:%d for %s", host, service.port, base_url)
    try:
        await stop.wait()
    finally:
        await service.stop()
        await feedback.close()
