"""A webhook receiver for the e2e tests, in a container of the test stack
(tests/compose.test.yml) on the compose network, from the python base image: stdlib only,
and independent of Newsflow's code, it verifies signatures as the README tells receivers.

    POST <any path>   verify Newsflow-Signature; 204 when valid, 401 otherwise; either
                      way one JSON line is appended to RECORD_FILE
    GET /health       200 (the container's healthcheck)
    GET /received     RECORD_FILE's lines

The test reads RECORD_FILE with `compose exec`; it lives in the container, so it survives
the `compose stop` / `compose start` of the chaos test.
"""

import contextlib
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("WEBHOOK_RECEIVER_SECRET", "")
RECORD_FILE = os.environ.get("RECORD_FILE", "/tmp/received.jsonl")
HOST = os.environ.get("HOST", "0.0.0.0")
PORT = int(os.environ.get("PORT", "8080"))
TOLERANCE_S = 300
LOCK = threading.Lock()


def verify(secret: str, body: bytes, header: str, now: float) -> bool:
    """Newsflow-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">, t within 5 min."""
    items = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, received = items.get("t", ""), items.get("v1", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_S:
        return False
    signed = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            self._answer(200, b"ok")
        elif self.path == "/received":
            try:
                with open(RECORD_FILE, "rb") as fh:
                    self._answer(200, fh.read())
            except FileNotFoundError:
                self._answer(200, b"")
        else:
            self._answer(404, b"")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        valid = bool(SECRET) and verify(
            SECRET, body, self.headers.get("Newsflow-Signature", ""), time.time()
        )
        try:
            data = json.loads(body)
        except ValueError:
            data = {}
        event = data.get("data") if isinstance(data, dict) else None
        record = {
            "path": self.path,
            "delivery": self.headers.get("Newsflow-Delivery"),
            "event": self.headers.get("Newsflow-Event"),
            "body_id": data.get("id") if isinstance(data, dict) else None,
            "event_id": data.get("event_id") if isinstance(data, dict) else None,
            "article_id": event.get("article_id") if isinstance(event, dict) else None,
            "status": event.get("status") if isinstance(event, dict) else None,
            "valid": valid,
            "received_at": time.time(),
        }
        with LOCK, open(RECORD_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        self._answer(204 if valid else 401, b"")

    def _answer(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    with contextlib.suppress(KeyboardInterrupt):  # SIGINT: `compose stop`
        server.serve_forever()
