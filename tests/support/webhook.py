"""A webhook endpoint on loopback that records the JSON apprise's json:// plugin posts to it."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    json: dict

    @property
    def title(self) -> str:
        return str(self.json.get("title", ""))

    @property
    def message(self) -> str:
        return str(self.json.get("message", ""))


class Webhook:
    """Answers POSTs with 200 (paths starting with /fail get 500) and keeps what came in."""

    def __init__(self) -> None:
        self._posts: list[Post] = []
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.startswith("/fail"):
                    self.send_response(500)
                else:
                    post = Post(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(body)
                    )
                    with hook._lock:
                        hook._posts.append(post)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def posts(self) -> list[Post]:
        with self._lock:
            return list(self._posts)

    def posts_to(self, path: str) -> list[Post]:
        return [post for post in self.posts if post.path == path]

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def start(self) -> Webhook:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Webhook:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
