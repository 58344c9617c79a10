"""SIGTERM finishes the current step and exits cleanly; the next run finishes the work, paying nothing twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from fakes import SlowAnthropic, user_text
from helpers import HERE, child_env, snapshot, stored_prompts, write_fleet


def _once(url: str, fleet: Path, fake: SlowAnthropic, probe: str = "") -> subprocess.Popen[str]:
    argv = ["worker", "--once", "--json", "--source", str(fleet), "--db", url, "--analyzer", "anthropic"]
    install = f"import kill_probe; kill_probe.install({probe!r}, park=1.0); " if probe else ""
    code = f"import sys; {install}sys.argv = ['errorsift', *{argv!r}]; from errorsift.service.command import "
    code += "service_cli; service_cli()"
    env = child_env(ANTHROPIC_BASE_URL=fake.url, ANTHROPIC_API_KEY="test-key")
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _fleet(tmp_path: Path) -> Path:
    fleet = tmp_path / "fleet.jsonl"
    write_fleet(fleet, datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    return fleet


def test_sigterm_during_analysis_keeps_what_was_paid_and_exits_0(tmp_path):
    fleet, url = _fleet(tmp_path), f"sqlite:///{tmp_path / 'term.db'}"
    with SlowAnthropic(delay=0.6) as fake:
        proc = _once(url, fleet, fake)
        deadline = time.monotonic() + 30
        while not fake.requests:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        result = json.loads(out)
        assert result["status"] == "stopped" and "SIGTERM" in result["message"]
        in_flight = len(fake.requests)
        assert result["report"]["pending"] > 0 and result["report"]["model_calls"] == in_flight
        stored = stored_prompts(url)
        assert len([p for p in stored]) >= in_flight  # every call in flight at SIGTERM was stored
        assert snapshot(url)["runs"][0][1] == "ok"  # the run completed, with some analyses pending

        fake.delay = 0.0
        proc = _once(url, fleet, fake)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        again = json.loads(out)
        assert again["status"] == "ok" and again["report"]["pending"] == 0
        for request in fake.requests[in_flight:]:
            assert not any(user_text(request) in prompt for prompt in stored), "paid twice after SIGTERM"


def test_sigterm_during_ingest_commits_the_ingest_and_stops_before_any_model_call(tmp_path):
    fleet, url = _fleet(tmp_path), f"sqlite:///{tmp_path / 'term.db'}"
    with SlowAnthropic() as fake:
        proc = _once(url, fleet, fake, probe="ingest")
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.strip() == "PROBE ingest":
                break
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        result = json.loads(out)
        assert result["status"] == "stopped" and "after the ingest step" in result["message"]
        state = snapshot(url)
        assert state["seen"] > 0 and state["counts"]  # the ingest step finished and committed
        assert fake.requests == [] and state["runs"][0][1] == "failed"
