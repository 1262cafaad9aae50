"""Alembic environment: migrates the database named by the settings.

A caller may pass an open connection in `config.attributes["connection"]`
(the tests and `wuye migrate` do), else the URL comes from the settings.
"""

from alembic import context
from sqlalchemy import Connection, create_engine, pool
from sqlmodel import SQLModel

import store.models  # noqa: F401  (registers the tables on the metadata)
from wuye.settings import get_settings

target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or (
        get_settings().database_url
    )
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.begin() as connection:
        _run(connection)


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run them online")
run_migrations_online()
