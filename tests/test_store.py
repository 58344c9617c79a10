"""The store on real SQLite files: migrations, exactly-once claims, aliases, checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from errorsift.errors import StoreError
from errorsift.store.db import database_url
from errorsift.store.store import SignatureInfo, Store

NOW = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "s.db"))
    yield s
    s.close()


def info(count: int = 1, sample: str = "x") -> SignatureInfo:
    return SignatureInfo("n", "t", "E", "svc", "seed-v1", NOW, NOW, count, [sample])


def test_migrations_create_every_table_and_use_wal(store):
    names = set(inspect(store.engine).get_table_names())
    assert {
        "runs",
        "signatures",
        "hourly_counts",
        "seen_events",
        "analyses",
        "model_calls",
        "triage_results",
        "noise_rules",
        "grouping_state",
        "signature_aliases",
        "checkpoints",
        "alembic_version",
    } <= names
    with store.read() as conn:
        assert conn.conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_reopening_an_existing_database_is_a_no_op(tmp_path):
    Store(str(tmp_path / "a.db")).close()
    Store(str(tmp_path / "a.db")).close()


def test_database_url_forms(monkeypatch):
    monkeypatch.delenv("ERRORSIFT_DB", raising=False)
    assert database_url(None) == "sqlite:///errorsift.db"
    assert database_url("x.db") == "sqlite:///x.db"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("ERRORSIFT_DB", "env.db")
    assert database_url(None) == "sqlite:///env.db"


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store(str(tmp_path / "nope" / "x.db"))


def test_claims_are_exactly_once_across_transactions(store):
    with store.begin() as conn:
        assert conn.claim_new_events([1, 2, 2, 3], [0, 0, 0, 0]) == [True, True, False, True]
    with store.begin() as conn:
        assert conn.claim_new_events([3, 4], [0, 0]) == [False, True]


def test_a_rolled_back_transaction_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.begin() as conn:
        conn.claim_new_events([7], [0])
        conn.add_counts({("a", "c", 1): 5})
        raise RuntimeError("killed")
    with store.begin() as conn:
        assert conn.claim_new_events([7], [0]) == [True]
        assert conn.window_counts(0, 10) == {}


def test_counts_increment_and_slice_by_day(store):
    with store.begin() as conn:
        conn.add_counts({("a", "x", 100): 3, ("a", "y", 125): 2})
        conn.add_counts({("a", "x", 100): 3})
        assert conn.window_counts(0, 200) == {"a": {"x": 6, "y": 2}}
        assert conn.window_counts(101, 200) == {"a": {"y": 2}}
        assert {d: dict(c) for d, c in conn.daily_counts(100, 200)["a"].items()} == {0: {"x": 6}, 1: {"y": 2}}


def test_alias_moves_counts_and_merges_signatures(store):
    with store.begin() as conn:
        conn.upsert_signatures({"a": info(3, "sa"), "b": info(2, "sb")})
        conn.add_counts({("a", "x", 1): 3, ("b", "x", 1): 2, ("b", "y", 2): 1})
        conn.add_alias("a", "b", "merged")
        assert conn.window_counts(0, 10) == {"b": {"x": 5, "y": 1}}
        rows = conn.signature_rows()
        assert list(rows) == ["b"] and rows["b"]["total"] == 5 and set(rows["b"]["samples"]) == {"sa", "sb"}
        conn.add_alias("b", "c", "merged")
        assert conn.aliases() == {"a": "c", "b": "c"}  # older aliases follow the survivor
        conn.add_alias("c", "a", "merged")
        assert "a" not in conn.aliases()  # no self-alias after a merge back


def test_checkpoints_round_trip(store):
    with store.begin() as conn:
        assert conn.checkpoint("datadog") is None
        conn.save_checkpoint("datadog", NOW)
        conn.save_checkpoint("datadog", NOW.replace(hour=5))
    with store.read() as conn:
        assert conn.checkpoint("datadog") == NOW.replace(hour=5)
