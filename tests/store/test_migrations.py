"""Migrations build the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import store.models  # noqa: F401
from store.db import Database


def test_migrated_schema_matches_the_models(any_database: Database) -> None:
    with any_database.writer.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})

        differences = compare_metadata(context, SQLModel.metadata)

    assert differences == []


def test_migrating_twice_changes_nothing(any_database: Database) -> None:
    from store.migrate import upgrade

    upgrade(any_database.writer)

    with any_database.writer.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() is not None
