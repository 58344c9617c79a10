"""kill -9 at each pipeline step, on SQLite and PostgreSQL, with the real SDK against a fake model.

For each step (the ingest transaction, the analysis calls, the final store transaction) a run is
SIGKILLed there, the same run is started again, and the result must equal one clean run: the same
hourly counts, seen ids, signatures, analyses and triage; and the fake model server must not have
been asked again for any analysis that was stored before the kill.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import SlowAnthropic, user_text
from helpers import AT, HERE, child_env, errorsift, snapshot, stored_prompts, write_fleet

from errorsift.store.store import Store

RUN_ARGS = ["run", "--analyzer", "anthropic", "--at", AT.isoformat().replace("+00:00", "Z")]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fleet") / "fleet.jsonl"
    write_fleet(path, AT)
    return path


@pytest.fixture(scope="module")
def clean(fleet: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One uninterrupted run: the reference every killed-and-rerun database must equal."""
    url = f"sqlite:///{tmp_path_factory.mktemp('clean') / 'clean.db'}"
    with SlowAnthropic() as fake:
        done = errorsift(*RUN_ARGS, "--source", str(fleet), "--db", url, "--json", env=_env(fake))
        assert done.returncode == 0, done.stderr
        state = snapshot(url)
        state["calls"] = len(fake.requests)
    assert state["calls"] == len(state["analyses"]) >= 5
    return state


@pytest.fixture
def slow_fake() -> Iterator[SlowAnthropic]:
    with SlowAnthropic(delay=0.3) as fake:
        yield fake


def _env(fake: SlowAnthropic) -> dict[str, str]:
    return child_env(ANTHROPIC_BASE_URL=fake.url, ANTHROPIC_API_KEY="test-key")


def _start(point: str | None, fleet: Path, url: str, fake: SlowAnthropic) -> subprocess.Popen[str]:
    argv = [*RUN_ARGS, "--source", str(fleet), "--db", url]
    install = f"import kill_probe; kill_probe.install({point!r}); " if point else ""
    code = f"import sys; {install}sys.argv = ['errorsift', *{argv!r}]; from errorsift.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=HERE,
        env=_env(fake),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_probe(proc: subprocess.Popen[str], point: str, timeout: float = 60) -> None:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.strip() == f"PROBE {point}":
            return
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"the child never reached {point}: {''.join(seen)[-2000:]}")


def _analyses_stored(url: str) -> int:
    store = Store(url)
    try:
        return len(stored_prompts(url))
    finally:
        store.close()


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("point", ["ingest", "analysis", "store"])
def test_kill_9_at_each_step_then_rerun_equals_one_clean_run(point, db_url, fleet, clean, slow_fake):
    proc = _start(None if point == "analysis" else point, fleet, db_url, slow_fake)
    try:
        if point == "analysis":
            deadline = time.monotonic() + 60
            while _analyses_stored(db_url) < 1 or len(slow_fake.requests) < 2:
                assert proc.poll() is None, "the run finished before it could be killed mid-analysis"
                assert time.monotonic() < deadline, "no analysis was stored in time"
                time.sleep(0.02)
        else:
            _wait_for_probe(proc, point)
        _kill(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed = snapshot(db_url)
    assert [status for _, status in killed["runs"]] == ["running"]  # nothing finished, nothing half-done
    assert killed["triage"] == []
    if point == "ingest":  # the whole ingest transaction rolled back
        assert killed["counts"] == [] and killed["seen"] == 0 and killed["signatures"] == {}
        assert slow_fake.requests == []
    else:  # the ingest had committed in full
        assert killed["counts"] == clean["counts"] and killed["seen"] == clean["seen"]
    paid_before = {user_text(r) for r in slow_fake.requests}
    stored_before = stored_prompts(db_url)
    assert len(stored_before) == len(killed["analyses"])
    if point == "store":
        assert killed["analyses"] == clean["analyses"]  # every analysis was stored before the kill
    calls_before = len(slow_fake.requests)

    slow_fake.delay = 0.0
    rerun = errorsift(*RUN_ARGS, "--source", str(fleet), "--db", db_url, "--json", env=_env(slow_fake))
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)["run"]

    after = snapshot(db_url)
    for key in ("counts", "seen", "signatures", "analyses", "triage"):
        assert after[key] == clean[key], f"{key} differs from a clean run after a kill during {point}"
    assert [status for _, status in after["runs"]] == ["ok", "abandoned"]
    rerun_calls = slow_fake.requests[calls_before:]
    # No analysis stored before the kill was bought again, and everything else was bought once.
    assert len(rerun_calls) == len(clean["analyses"]) - len(stored_before) == report["model_calls"]
    for request in rerun_calls:
        text = user_text(request)
        assert not any(text in prompt for prompt in stored_before), "paid twice for a stored analysis"
    if point == "analysis":
        assert 1 <= len(stored_before) < len(clean["analyses"]) and len(paid_before) >= len(stored_before)
