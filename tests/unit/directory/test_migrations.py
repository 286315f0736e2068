"""Alembic migrations and the models agree, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from directory.db import head_revision, make_engine, migrate, needs_migration
from directory.models import Base


def test_migrated_schema_matches_models(db_url):
    engine = make_engine(db_url)
    assert needs_migration(engine)
    migrate(engine)
    assert not needs_migration(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn)
        assert ctx.get_current_revision() == head_revision()
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], diff
    migrate(engine)  # idempotent
    engine.dispose()
