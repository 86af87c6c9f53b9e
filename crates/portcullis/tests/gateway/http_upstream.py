#!/usr/bin/env python3
"""The hostile test server (hostile.py, benign mode) over MCP streamable HTTP, for the gateway's
`url` upstreams. Python standard library only.

POST /mcp takes one JSON-RPC message and answers with `application/json` (the spec's plain-JSON
response; notifications get 202); GET gets 405 (no server-initiated stream); DELETE gets 200.
Every request must carry `Authorization: Bearer $EXPECTED_TOKEN`, or it gets 401 and is not
handled. Each POST's Authorization header is appended to $HOSTILE_AUTH_LOG as "ok" (the expected
token) or "other" (anything else, never the value), so a test can prove which credential
arrived. Listens on 127.0.0.1:$PORT and prints "listening on PORT" to stderr when ready.

Run it as `python3 http_upstream.py`.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402

EXPECTED = os.environ.get("EXPECTED_TOKEN", "")
AUTH_LOG = os.environ.get("HOSTILE_AUTH_LOG", "")


class Collecting(hostile.Server):
    """hostile.Server whose replies are collected instead of written to stdout."""

    def __init__(self):
        super().__init__("benign", os.environ.get("HOSTILE_RECORD"))
        self.out = []

    def send(self, message):
        self.out.append(message)


SERVER = Collecting()
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("http_upstream: " + (fmt % args) + "\n")

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        ok = bool(EXPECTED) and auth == f"Bearer {EXPECTED}"
        if AUTH_LOG:
            with open(AUTH_LOG, "a", encoding="utf-8") as f:
                f.write(("ok" if ok else "other") + "\n")
        if not ok:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer realm="test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
        return ok

    def do_GET(self):
        self.send_response(405)
        self.send_header("Allow", "POST, DELETE")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_DELETE(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        if not self.authorized():
            return
        length = int(self.headers.get("Content-Length", "0") or "0")
        try:
            message = json.loads(self.rfile.read(length).decode("utf-8"))
        except ValueError:
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with LOCK:
            SERVER.out = []
            SERVER.handle(message)
            out = list(SERVER.out)
        if not out:
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(out[0]).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    port = int(os.environ.get("PORT", "0"))
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    sys.stderr.write(f"listening on {httpd.server_address[1]}\n")
    sys.stderr.flush()
    httpd.serve_forever()


if __name__ == "__main__":
    main()
