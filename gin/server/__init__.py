"""``gin serve``: the directory as one shared service (REST API) with users, roles and scopes.

Why FastAPI (on uvicorn) rather than Litestar: a route's permission is declared as a FastAPI
dependency (``who = requires("directory.write", agency="code")``), and FastAPI keeps every
route's dependency tree inspectable (``route.dependant``), so one test can walk all routes
and prove none lacks a declared permission; its OpenAPI document is generated from the same
signatures (schemathesis reads it); and its synchronous handlers run in a thread pool, which
fits gin's synchronous SQLAlchemy store without an async rewrite.  Litestar offers guards and
OpenAPI too, but its guard list is not part of the dependency graph the handler sees, and
its smaller user base matters for a government team that must maintain this.

The face holds no logic: routes call the same importable APIs as the CLI (``directory.store``,
``directory.assign``, ``directory.whois``, ``directory.identity``, ``directory.chain``);
access control is enforced once, here at the edge (:mod:`gin.server.permissions`).
"""
