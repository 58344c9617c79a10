"""The store and pipeline test suites, run again on a real PostgreSQL server.

tests/test_store.py and tests/test_pipeline.py run on SQLite; every test of theirs that takes the
`store` fixture is collected here a second time with a `store` on PostgreSQL, so the same
migrations and queries are proven on both backends without copying a single test. Tests that
inspect the SQLite file itself (WAL pragma, bytes on disk) are listed in SQLITE_ONLY.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest

from errorsift.store.store import Store

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import test_pipeline  # noqa: E402
import test_store  # noqa: E402

SQLITE_ONLY = {
    "test_migrations_create_every_table_and_use_wal",  # PRAGMA journal_mode
    "test_redacted_text_is_all_that_is_stored",  # reads the SQLite file's bytes
}


@pytest.fixture
def store(pg_server):
    s = Store(pg_server.url())
    yield s
    s.close()


def _store_tests(module) -> dict[str, object]:
    found = {}
    for name, func in vars(module).items():
        wanted = name.startswith("test_") and callable(func) and name not in SQLITE_ONLY
        if wanted and "store" in inspect.signature(func).parameters:
            found[f"{name}_on_postgresql"] = func
    return found


for _name, _func in {**_store_tests(test_store), **_store_tests(test_pipeline)}.items():
    globals()[_name] = _func


def test_migrations_create_every_table_on_postgresql(store):
    from sqlalchemy import inspect as sa_inspect

    from errorsift.store.schema import metadata

    assert set(metadata.tables) <= set(sa_inspect(store.engine).get_table_names())
    assert store.engine.dialect.name == "postgresql"
