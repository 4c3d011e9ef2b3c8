"""A fake search_service (http.server in a thread) for sticker_service's tests of its client's failure paths.

It speaks search_service's contract just enough: ``/api/search/`` (GET, and POST with a JSON body whose boosts
it ignores), ``/api/similar/``, ``/api/images/`` and ``/healthz``. ``behaviour`` picks what it does: ``"ok"``
answers from ``stickers``; ``"slow"`` sleeps ``delay`` seconds first; ``"error"`` answers ``status`` with
``body``; ``"drip"`` sends the body one byte per ``delay`` seconds. Every request's path, parsed parameters,
headers (and a POST's JSON body) and the connection's client port are kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]
    raw_query: str
    body: Any = None  # the parsed JSON body of a POST
    client_port: int = 0  # the caller's port: one per connection


@dataclass
class FakeSearchService:
    stickers: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"filename": f"sticker-{i:03d}.png", "title": f"Sticker {i}", "tags": ["demo"], "width": 64, "height": 64}
            for i in range(25)
        ]
    )
    behaviour: str = "ok"
    delay: float = 5.0
    status: int = 500
    body: Any = None
    model: str = "fake-search-model"
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        handler = _handler(self)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str, params: dict[str, list[str]]) -> tuple[int, Any]:
        first = {key: values[-1] for key, values in params.items()}
        if path == "/healthz":
            return 200, {"status": "ok"}
        if path == "/api/search/":
            limit, offset = int(first.get("limit", 10)), int(first.get("offset", 0))
            hits = self.stickers[offset : offset + limit]
            return 200, {
                "model": self.model,
                "results": [
                    {"filename": s["filename"], "score": round(1 - 0.01 * (offset + i), 4), "title": s["title"]}
                    for i, s in enumerate(hits)
                ],
            }
        if path == "/api/similar/":
            names = [s["filename"] for s in self.stickers]
            if first.get("filename") not in names:
                return 404, {"error": {"code": "not_found", "message": "Unknown sticker.", "details": {}}}
            limit = int(first.get("limit", 10))
            return 200, {
                "model": self.model,
                "results": [
                    {"filename": s["filename"], "score": 1.0 - 0.01 * i, "title": s["title"]}
                    for i, s in enumerate(self.stickers[:limit])
                ],
            }
        if path == "/api/images/" and "after" in first:  # keyset pages in filename order
            after, size = first["after"], int(first.get("page_size", 100))

            def key(sticker: dict) -> str:
                return str(sticker.get("filename", ""))

            chunk = sorted((s for s in self.stickers if key(s) > after or not (after or key(s))), key=key)[:size]
            full = len(chunk) == size
            return 200, {
                "count": len(self.stickers),
                "next": f"{self.url}{path}?after={chunk[-1].get('filename')}&page_size={size}" if full else None,
                "previous": None,
                "results": [{**s, "url": f"/media/{s.get('filename')}"} for s in chunk],
            }
        if path == "/api/images/":
            page, size = int(first.get("page", 1)), int(first.get("page_size", 100))
            chunk = self.stickers[(page - 1) * size : page * size]
            last = page * size >= len(self.stickers)
            return 200, {
                "count": len(self.stickers),
                "next": None if last else f"{self.url}{path}?page={page + 1}",
                "previous": None if page == 1 else f"{self.url}{path}?page={page - 1}",
                "results": [{**s, "url": f"/media/{s.get('filename')}"} for s in chunk],
            }
        return 404, {"error": {"code": "not_found", "message": "No such path.", "details": {}}}


def _handler(fake_search_service: FakeSearchService):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
            params = {key: [str(value)] for key, value in body.items() if key != "boosts"}
            self.do_GET(params=params, body=body)

        def do_GET(self, params: dict[str, list[str]] | None = None, body: Any = None) -> None:
            parts = urlsplit(self.path)
            if params is None:
                params = parse_qs(parts.query, keep_blank_values=True)
            seen = Seen(parts.path, params, dict(self.headers.items()), parts.query, body, self.client_address[1])
            fake_search_service.requests.append(seen)
            behaviour = fake_search_service.behaviour
            if behaviour == "slow":
                time.sleep(fake_search_service.delay)
            if behaviour == "error":
                status = fake_search_service.status
                body = (
                    fake_search_service.body
                    if fake_search_service.body is not None
                    else {"error": {"code": "boom", "message": "fake search_service failure", "details": {}}}
                )
            else:
                status, body = fake_search_service.answer(parts.path, params)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if behaviour == "drip":
                    for byte in data:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(fake_search_service.delay)
                else:
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler
