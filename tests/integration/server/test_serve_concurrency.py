"""Many engineers at once on PostgreSQL: concurrent allocations through the service never hand
out one prefix twice, and the change log's hash chain stays one unbroken line (its writers
serialise on an advisory lock instead of forking the chain)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def test_concurrent_allocations_are_unique_and_the_chain_holds(pg_url, serve):
    svc = serve(pg_url)
    people = ["admin", "eng_dopa", "eng_moi"]

    def work(i: int) -> list[str]:
        with svc.client(people[i % len(people)]) as c:
            out = []
            for _ in range(4):
                r = c.post("/prefixes/allocate", json={"agency": "DOPA", "length": 64})
                assert r.status_code == 201, r.text
                out += [p["prefix"] for p in r.json()["items"]]
            return out

    with ThreadPoolExecutor(max_workers=12) as pool:
        made = [p for chunk in pool.map(work, range(12)) for p in chunk]
    assert len(made) == 48 and len(set(made)) == 48
    verdict = svc.client("auditor").get("/changes/verify").json()
    assert verdict["ok"], verdict
    log = svc.client("auditor").get("/changes", params={"type": "prefix", "limit": 1000})
    created = {c["key"] for c in log.json()["items"] if c["action"] == "create"}
    assert set(made) <= created
