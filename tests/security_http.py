"""A loopback HTTP file server for the security and fault tests: byte ranges, redirects, slowness.

Only ever binds 127.0.0.1. Each test starts its own server on a free port and stops it after.
"""

import contextlib
import http.server
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class ServerBehaviour:
    """What the server does: serve `root` with Range support unless told otherwise."""

    root: Path
    #: Request path -> Location to answer with a 302 instead of content.
    redirects: dict[str, str] = field(default_factory=dict)
    #: Request path -> an error status to answer with instead of content.
    statuses: dict[str, int] = field(default_factory=dict)
    #: Seconds to wait before answering a request, from request number `delay_after` on (0-based),
    #: so the app's first check can get through and GDAL's reads stall.
    delay: float = 0.0
    delay_after: int = 0
    #: Answer `200` with the whole file, ignoring `Range` (a server without range support).
    ignore_range: bool = False
    #: Every request seen: (method, path, Range header).
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    behaviour: ServerBehaviour
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def _answer(self, send_body: bool) -> None:
        behaviour = self.behaviour
        behaviour.requests.append((self.command, self.path, self.headers.get("Range")))
        if behaviour.delay and len(behaviour.requests) > behaviour.delay_after:
            time.sleep(behaviour.delay)
        path = self.path.split("?", 1)[0]
        if path in behaviour.redirects:
            self.send_response(302)
            self.send_header("Location", behaviour.redirects[path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path in behaviour.statuses:
            self._plain(behaviour.statuses[path], b"error")
            return
        file = (behaviour.root / path.lstrip("/")).resolve()
        if not file.is_relative_to(behaviour.root.resolve()) or not file.is_file():
            self._plain(404, b"not found")
            return
        data = file.read_bytes()
        match = _RANGE.match(self.headers.get("Range") or "")
        if match is None or behaviour.ignore_range:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Type", "image/tiff")
            self.end_headers()
            if send_body:
                self._write(data)
            return
        first = int(match.group(1)) if match.group(1) else max(0, len(data) - int(match.group(2)))
        last = int(match.group(2)) if match.group(1) and match.group(2) else len(data) - 1
        last = min(last, len(data) - 1)
        if first >= len(data) or first > last:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Content-Type", "image/tiff")
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if send_body:
            self._write(data[first : last + 1])

    def _plain(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._write(body)

    def _write(self, body: bytes) -> None:
        # A client that had what it wanted may hang up first.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up mid-answer (timeouts under test) are expected


@contextmanager
def serve(behaviour: ServerBehaviour) -> Iterator[str]:
    """Serve on 127.0.0.1 and yield the base URL (`http://127.0.0.1:PORT`)."""
    handler = type("Handler", (_Handler,), {"behaviour": behaviour})
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED_DATA.is_dir():  # pragma: no cover - a checkout elsewhere
    SHARED_DATA = Path(os.environ.get("TITILER_SHARED_DATA", "../shared/data")).resolve()
