"""Fixtures for the service tests: a session-wide PostgreSQL server and a `db_url` on both backends.

Tests that take `db_url` run twice, on a SQLite file and on a fresh database of a real PostgreSQL
server. PostgreSQL is skipped only when it truly cannot start, and the skip says why; with
ERRORSIFT_REQUIRE_POSTGRES=1 (CI) that is a failure instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
for folder in (HERE, HERE.parent):  # pg.py and the fakes; `analysis.fake_anthropic` (shared fake server)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from pg import PgServer, PgUnavailable  # noqa: E402

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer()
    try:
        server.start()
    except PgUnavailable as exc:
        server.stop()
        if os.environ.get("ERRORSIFT_REQUIRE_POSTGRES"):  # CI installs it: a skip there would hide a gap
            pytest.fail(f"PostgreSQL is required (ERRORSIFT_REQUIRE_POSTGRES) but cannot start: {exc}")
        pytest.skip(f"PostgreSQL cannot start here: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on each backend: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.url()
