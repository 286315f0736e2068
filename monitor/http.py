"""A small threaded HTTP server for /metrics (stdlib wsgiref; no access log on stderr).

prometheus-client's own server only serves a registry; the agent appends the fast SNMP
exposition to it, so it brings its own handler.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass


def serve(listen: tuple[str, int], body: Callable[[dict[str, str]], bytes | None]
          ) -> WSGIServer:
    """Serve ``body(query)`` at /metrics (and /) on listen=(host, port) in a daemon thread;
    ``query`` is the URL's parameters (first value each); None answers 404."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"only /metrics here\n"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            data = body(query)
        except Exception as exc:  # a broken collector must not kill the server thread
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [f"metrics failed: {type(exc).__name__}\n".encode()]
        if data is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such device on this agent\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST),
                                  ("Content-Length", str(len(data)))])
        return [data]

    host, port = listen
    server_class = _Server6 if ":" in host else _Server
    server = make_server(host, port, app, server_class=server_class, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="gin-metrics", daemon=True)
    thread.start()
    return server
