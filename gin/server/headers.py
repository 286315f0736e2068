"""The headers every answer carries (security and caching), added by a pure ASGI middleware.

Pure ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware wraps every
response in a stream and a task group, which cost more per request than a whois look-up.
A header a route set itself (the console pages' own Content-Security-Policy) is kept.
"""

from __future__ import annotations

from typing import Any

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=31536000",  # browsers heed it only over HTTPS
}
_ENCODED = [(name.lower().encode(), value.encode()) for name, value in HEADERS.items()]


class SecurityHeaders:
    """Add :data:`HEADERS` to every HTTP response that does not already carry them."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in _ENCODED if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
