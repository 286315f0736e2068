"""Column walks against a scripted agent: normal tables, agents that loop or misbehave."""

from __future__ import annotations

import asyncio

import pytest

from monitor.snmp import ber
from monitor.snmp.poller import walk
from monitor.snmp.transport import SnmpError, Stats

COL_A = ber.oid_content("1.3.6.1.2.1.2.2.1.8")
COL_B = ber.oid_content("1.3.6.1.2.1.2.2.1.7")
NEXT = ber.oid_content("1.3.6.1.2.1.2.2.1.9.1")


def sub(n: int) -> bytes:
    """BER encoding of one sub-identifier (base 128, high bit = more)."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


class Scripted:
    """A fake Session.bulk answering like an agent with ``rows`` rows per column."""

    def __init__(self, rows: int, mode: str = "ok", limit: int = 100) -> None:
        self.rows, self.mode, self.limit, self.calls = rows, mode, limit, 0

    async def bulk(self, oids: list[bytes], reps: int, stats: Stats) -> list[ber.Varbind]:
        self.calls += 1
        if self.mode == "empty":
            return []
        out: list[ber.Varbind] = []
        cursors = list(oids)
        for _ in range(min(reps, self.limit // len(oids))):
            for i, cur in enumerate(cursors):
                col = COL_A if cur.startswith(COL_A) else COL_B
                idx = ber.subids(cur[len(col):])[0] if len(cur) > len(col) else 0
                if self.mode == "loop":
                    nxt = col + sub(1)  # always the same row
                elif idx < self.rows:
                    nxt = col + sub(idx + 1)
                else:
                    nxt = NEXT
                out.append((nxt, ber.INTEGER, idx + 1))
                cursors[i] = nxt
        return out


def run_walk(session: Scripted, hint: int, max_varbinds: int = 100) -> list[dict]:
    tables, _ = asyncio.run(walk(session, [COL_A, COL_B], Stats(), hint, max_varbinds))
    return tables


def test_one_round_trip_when_the_hint_is_right() -> None:
    s = Scripted(rows=40)
    a, b = run_walk(s, hint=40)
    assert len(a) == len(b) == 40 and s.calls == 1


def test_bad_hint_still_walks_everything() -> None:
    s = Scripted(rows=130, limit=50)
    a, b = run_walk(s, hint=4, max_varbinds=50)
    assert len(a) == len(b) == 130


def test_agent_repeating_an_oid_is_malformed() -> None:
    with pytest.raises(SnmpError) as exc:
        run_walk(Scripted(rows=5, mode="loop"), hint=5)
    assert exc.value.reason == "malformed"


def test_empty_getbulk_reply_is_malformed() -> None:
    with pytest.raises(SnmpError) as exc:
        run_walk(Scripted(rows=5, mode="empty"), hint=5)
    assert exc.value.reason == "malformed"
