"""Headless Chromium driven over the DevTools protocol (with aiohttp's websocket client): load a page, collect
console errors, failed requests and uncaught exceptions, evaluate JavaScript, take a screenshot."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import aiohttp

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--window-size=1280,1100", "--hide-scrollbars"]


def chromium_binary() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


class Browser:
    def __init__(self, binary: str, profile: Path):
        self.binary = binary
        self.profile = profile
        self.errors: list[str] = []  # console errors, uncaught exceptions, failed loads
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}

    async def __aenter__(self) -> Browser:
        self.process = await asyncio.create_subprocess_exec(
            self.binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank",
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ws_url = await asyncio.wait_for(self._devtools_url(), 30)
        self.session = aiohttp.ClientSession()
        browser_ws = await self.session.ws_connect(ws_url, max_msg_size=0)
        self._ws = browser_ws
        self._reader = asyncio.create_task(self._read())
        targets = await self.send("Target.getTargets")
        page = next(t for t in targets["targetInfos"] if t["type"] == "page")
        attached = await self.send("Target.attachToTarget", targetId=page["targetId"], flatten=True)
        self.session_id = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            await self.send(f"{domain}.enable", session=True)
        return self

    async def __aexit__(self, *exc) -> None:
        self._reader.cancel()
        await self._ws.close()
        await self.session.close()
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    async def _devtools_url(self) -> str:
        while True:
            line = await self.process.stderr.readline()
            if not line:
                raise RuntimeError("chromium exited before DevTools came up")
            match = re.search(rb"DevTools listening on (ws://\S+)", line)
            if match:
                asyncio.get_running_loop().create_task(self._drain_stderr())
                return match.group(1).decode()

    async def _drain_stderr(self) -> None:
        while await self.process.stderr.readline():
            pass

    async def send(self, method: str, session: bool = False, **params) -> dict:
        message_id = next(self._ids)
        message = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session_id
        future = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self._ws.send_str(json.dumps(message))
        return await asyncio.wait_for(future, 30)

    async def _read(self) -> None:
        async for message in self._ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._pending:
                future = self._pending.pop(data["id"])
                if "error" in data:
                    future.set_exception(RuntimeError(f"DevTools: {data['error']}"))
                else:
                    future.set_result(data.get("result", {}))
                continue
            method, params = data.get("method"), data.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                self.errors.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                          for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                self.errors.append("exception: " + details.get("exception", {}).get("description", details["text"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                self.errors.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                self.errors.append(f"network: {params['errorText']}")

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", session=True, url=url)

    async def evaluate(self, expression: str):
        result = await self.send("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 20.0):
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.2)
        page = await self.evaluate("location.href + '\\n' + document.documentElement.outerHTML.slice(0, 3000)")
        raise AssertionError(f"timed out after {timeout} s waiting for: {expression}\n"
                             f"errors: {self.errors}\npage: {page}")

    async def screenshot(self, path: Path) -> Path:
        result = await self.send("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(result["data"]))
        return path
