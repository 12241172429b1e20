"""A real headless Chromium driven over the DevTools protocol, for the browser tests.

Debian's `chromium` (scripts/ensure-chromium.sh installs it) started with a private profile
and a DevTools port the kernel picks; the protocol is JSON over a WebSocket, spoken here with
aiohttp's client, which the project already depends on (no Playwright or Selenium download).
The test clicks like a person: the button's box from the DOM, a mouse press and release at
its centre; no script is run in the page.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests.patience import PATIENCE


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    raise RuntimeError(
        "the browser test needs Chromium: run `make test` as root, or "
        "'sudo apt-get install chromium' (scripts/ensure-chromium.sh)"
    )


class Browser:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = await asyncio.wait_for(self.ws.receive_json(), PATIENCE)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    async def event(self, method: str) -> dict[str, Any]:
        """The next event `method` (one that arrived already is taken first)."""
        for n, seen in enumerate(self.events):
            if seen.get("method") == method:
                return self.events.pop(n)
        while True:
            message = await asyncio.wait_for(self.ws.receive_json(), PATIENCE)
            if message.get("method") == method:
                return message
            self.events.append(message)

    async def open(self, url: str) -> None:
        self.events.clear()
        await self.call("Page.navigate", url=url)
        await self.event("Page.loadEventFired")

    async def html(self) -> str:
        root = await self.call("DOM.getDocument")
        outer = await self.call("DOM.getOuterHTML", nodeId=root["root"]["nodeId"])
        return str(outer["outerHTML"])

    async def url(self) -> str:
        history = await self.call("Page.getNavigationHistory")
        return str(history["entries"][history["currentIndex"]]["url"])

    async def click(self, selector: str) -> None:
        """Press and release the mouse on the element's centre, as a person would."""
        root = await self.call("DOM.getDocument")
        node = await self.call(
            "DOM.querySelector", nodeId=root["root"]["nodeId"], selector=selector
        )
        if not node.get("nodeId"):
            raise AssertionError(f"no {selector} on the page")
        await self.call("DOM.scrollIntoViewIfNeeded", nodeId=node["nodeId"])
        quad = (await self.call("DOM.getBoxModel", nodeId=node["nodeId"]))["model"]["content"]
        x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
        self.events.clear()
        for kind in ("mousePressed", "mouseReleased"):
            await self.call(
                "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1
            )

    async def screenshot(self, path: Path) -> Path:
        shot = await self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@asynccontextmanager
async def chromium(profile: Path, *, width: int = 390, height: int = 844) -> AsyncIterator[Browser]:
    """A headless Chromium with a phone-sized viewport, closed afterwards."""
    profile.mkdir(parents=True, exist_ok=True)
    args = [
        find_chromium(),
        "--headless=new",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        "about:blank",
    ]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        port_file = profile / "DevToolsActivePort"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if process.poll() is not None or loop.time() > deadline:
                raise RuntimeError(f"chromium did not start (exit {process.poll()})")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
                targets = await resp.json()
            page = next(t for t in targets if t.get("type") == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                browser = Browser(ws)
                await browser.call("Page.enable")
                await browser.call(
                    "Emulation.setDeviceMetricsOverride",
                    width=width,
                    height=height,
                    deviceScaleFactor=1,
                    mobile=True,
                )
                yield browser
    finally:
        # Its own session: the renderer and zygote processes go with the browser.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
