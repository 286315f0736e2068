"""``gin worker``: run the jobs of ``gin serve`` (provision, deploy, backup, audit, web scan)."""

from __future__ import annotations

import click

from gin.choices import transport_choice
from gin.commands.serve import data_dir_option, use_data_dir
from gin.context import Context, pass_ctx


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Jobs run at once by this worker.")
@click.option("--via", type=transport_choice(), default="netmiko", show_default=True,
              help="Transport for recovering routers at start.")
@click.option("--name", help="Worker name in procrastinate's tables and the logs.")
@data_dir_option
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info"]),
              default="info", show_default=True)
@pass_ctx
def worker(ctx: Context, concurrency: int, via: str, name: str | None, data_dir: str | None,
           log_level: str) -> None:
    """Run the long operations of `gin serve` (jobs) until stopped; needs PostgreSQL.

    At start it puts back every router a dead gin process left half changed (as gin device
    recover does) and fails the jobs of workers that died; then it takes queued jobs.  Give
    it the service's --db and --data-dir."""
    use_data_dir(data_dir)
    import logging

    from gin.server.job_kinds import KINDS
    from gin.server.jobs_procrastinate import run_worker

    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from sqlalchemy.engine import make_url

    from directory.db import resolve_url

    if make_url(resolve_url(ctx.db)).get_backend_name() != "postgresql":
        raise click.UsageError("gin worker takes jobs from PostgreSQL (--db/GIN_DB "
                               "postgresql+psycopg://...); on SQLite `gin serve` runs them "
                               "itself")
    run_worker(ctx.directory, KINDS, via=via, concurrency=concurrency, name=name)
