"""Opening a database: URL handling, SQLite pragmas, and migrations run in-process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

from errorsift.errors import StoreError

DEFAULT_DB = "errorsift.db"
_MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(value: str | None = None) -> str:
    """`--db` wins, then ERRORSIFT_DB, then ./errorsift.db; a bare path means a SQLite file."""
    raw = value or os.environ.get("ERRORSIFT_DB") or DEFAULT_DB
    if "://" in raw:
        return raw
    return f"sqlite:///{raw}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the dashboard read while a run writes; NORMAL is durable enough under WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


def make_engine(url: str) -> Engine:
    try:
        # The ingest claims event ids on a helper thread while the main thread signs (one thread
        # at a time per connection, handed over explicitly), so pysqlite's same-thread check is off.
        args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        engine = create_engine(url, connect_args=args)
    except Exception as exc:  # unknown dialect or missing driver
        raise StoreError(f"cannot open database {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if path and path != ":memory:":
            parent = Path(path).expanduser().resolve().parent
            if not parent.exists():
                raise StoreError(f"cannot open database {url!r}: folder {parent} does not exist")
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; every change is a named Alembic migration."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except Exception as exc:
        raise StoreError(f"cannot migrate database {engine.url!r}: {exc}") from exc
