"""Requests presenting the same token while it is being checked share one database check:
a busy client whose cached token expired must not put one check per request on the
connection pool.  Each request is still counted, and a bad token refuses every sharer."""

from __future__ import annotations

import asyncio
import threading

import httpx
from sqlalchemy import event

from directory import identity
from gin.server.app import create_app
from gin.server.auth import TOKENS_SEEN
from gin.server.metrics import TOKENS

SHARERS = 20


def tokens(result: str) -> float:
    return TOKENS.labels(result)._value.get()


def test_concurrent_requests_share_one_token_check(directory) -> None:
    with directory.transaction() as s:
        identity.add_user(s, "alice", None)
        identity.grant(s, "alice", "viewer")
        secret = identity.create_token(s, "alice", "load")[1]
    app = create_app(directory)
    checks: list[str] = []
    release = threading.Event()

    def held(_conn, _cursor, statement, *_args) -> None:
        if "FROM gin_token" in statement:  # the check itself, in the thread pool
            checks.append(statement)
            release.wait(30)  # a bound for a wedged test, not a speed check

    event.listen(directory.engine, "before_cursor_execute", held)

    async def burst(presented: str) -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gin") as client:
            calls = [asyncio.create_task(client.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {presented}"}))
                for _ in range(SHARERS)]
            for _ in range(3000):  # the first request's check is held in the database
                if checks:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(1.0)  # the others reach the guard meanwhile (it waits)
            release.set()
            return [r.status_code for r in await asyncio.gather(*calls)]

    try:
        TOKENS_SEEN.clear()
        accepted = tokens("accepted")
        assert asyncio.run(burst(secret)) == [200] * SHARERS
        assert len(checks) == 1
        assert tokens("accepted") - accepted == SHARERS

        checks.clear()
        release.clear()
        rejected = tokens("rejected")
        wrong = secret[:-1] + ("a" if secret[-1] != "a" else "b")  # right key, wrong secret
        assert asyncio.run(burst(wrong)) == [401] * SHARERS
        assert len(checks) == 1
        assert tokens("rejected") - rejected == SHARERS
    finally:
        release.set()
        event.remove(directory.engine, "before_cursor_execute", held)
        TOKENS_SEEN.clear()
