"""A tiny HTTP client for the daemon's API (stdlib only, so tests see exactly what goes over the wire)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self):
        return json.loads(self.body)


class Api:
    def __init__(self, port: int, host: str = "127.0.0.1", token: str | None = None):
        self.base = f"http://{host}:{port}"
        self.token = token

    def get(self, path: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> Reply:
        headers = dict(headers or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())

    def wait_up(self, timeout: float = 20.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                self.get("/api/health", timeout=1.0)
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"HTTP API at {self.base} did not come up in {timeout} s")

    def mjpeg_frames(self, path: str, count: int, timeout: float = 10.0) -> tuple[str, list[bytes]]:
        """Read ``count`` JPEG parts of a multipart MJPEG stream → (content type, parts)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(self.base + path, headers=headers)
        frames: list[bytes] = []
        deadline = time.time() + timeout
        with urllib.request.urlopen(request, timeout=timeout) as response:
            content_type = response.headers["Content-Type"]
            boundary = content_type.split("boundary=")[1].encode()
            buffer = b""
            while len(frames) < count and time.time() < deadline:
                buffer += response.read1(65536)
                while True:
                    start = buffer.find(b"--" + boundary + b"\r\n")
                    header_end = buffer.find(b"\r\n\r\n", start)
                    if start < 0 or header_end < 0:
                        break
                    headers_text = buffer[start:header_end].decode()
                    length = int(next(line.split(":")[1] for line in headers_text.split("\r\n")
                                      if line.lower().startswith("content-length")))
                    body_start = header_end + 4
                    if len(buffer) < body_start + length:
                        break
                    frames.append(buffer[body_start:body_start + length])
                    buffer = buffer[body_start + length:]
        return content_type, frames
