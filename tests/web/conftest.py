"""Fixtures for the dashboard tests: the demo fleet triaged once, copied per test, and an XSS fleet.

The demo database is generated once per session (a few seconds) and copied for each test, so every
test starts from the same triaged fleet and may change it freely.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from errorsift.cli import main, run_pipeline
from errorsift.settings import Settings
from errorsift.web.app import create_app

with warnings.catch_warnings():  # starlette suggests httpx2; the stable httpx is what we install
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

GROUPING = "mined"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Fleet:
    db: Path
    source: Path
    at: datetime

    def settings(self) -> Settings:
        return Settings(db=str(self.db), analyzer="offline", grouping=GROUPING)

    def rerun(self) -> Any:
        """The next pipeline run over the same events and window (what a scheduled run would do)."""
        return run_pipeline(self.settings(), str(self.source), self.at, verbose=False)


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo.db"
    result = CliRunner().invoke(
        main, ["demo", "--db", str(db), "--out", str(folder), "--grouping", GROUPING, "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    at = datetime.fromisoformat(json.loads(result.stdout)["run"]["at"])
    return Fleet(db, folder / "fleet.jsonl", at)


def copy_db(src: Path, dest_dir: Path) -> Path:
    dest = dest_dir / src.name
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{dest}{suffix}")
    return dest


@pytest.fixture
def demo(demo_master: Fleet, tmp_path: Path) -> Fleet:
    """A private copy of the triaged demo fleet."""
    return Fleet(copy_db(demo_master.db, tmp_path), demo_master.source, demo_master.at)


@pytest.fixture
def client(demo: Fleet) -> Iterator[TestClient]:
    with TestClient(create_app(str(demo.db))) as c:
        yield c


def csrf_token(client: TestClient, path: str = "/login") -> str:
    """The token a page's forms carry (the client keeps the matching cookie)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF_INPUT.search(page.text)
    assert match, f"no CSRF token in {path}"
    return match.group(1)


# Attacker-controlled text as it arrives in logs: each must show as text and never act.
XSS_MESSAGES = (
    "<script>window.__xss = 1; alert('script')</script> failed",
    "<img src=x onerror=\"window.__xss = 2; alert('img')\" id=xss-img> upload failed",
    '"><svg onload="window.__xss = 3; alert(1)" id=xss-svg></svg> render error',
    "<a href=\"javascript:window.__xss = 4; alert('link')\" id=xss-link>click me</a> bad redirect",
    "</pre></td></tr></table></details><b id=xss-bold>broken markup <i>unclosed",
    "' onmouseover='window.__xss = 5' data-x=' attribute breakout",
    '<iframe id=xss-frame src="javascript:window.__xss = 6"></iframe> frame error',
    "<style>body { display: none }</style> style injection {{ 7*7 }} ${7*7}",
)
XSS_CUSTOMER = '<img src=x onerror="window.__xss = 7" id=xss-customer>'
XSS_SERVICE = '"><script>window.__xss = 8</script>'
XSS_IDS = ("xss-img", "xss-svg", "xss-link", "xss-bold", "xss-frame", "xss-customer")


@pytest.fixture(scope="session")
def xss_master(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """A fleet whose messages, customer ids and service names are an XSS corpus."""
    folder = tmp_path_factory.mktemp("xss")
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    source = folder / "xss.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for i, message in enumerate(XSS_MESSAGES):
            for j in range(3):
                record = {
                    "timestamp": (at - timedelta(hours=j + 1, minutes=i)).isoformat(),
                    "message": message,
                    "error_type": "<b>TypeError</b>",
                    "customer": XSS_CUSTOMER if j == 0 else f"tenant-{j}",
                    "service": XSS_SERVICE,
                    "id": f"xss-{i}-{j}",
                }
                out.write(json.dumps(record) + "\n")
    fleet = Fleet(folder / "xss.db", source, at)
    fleet.rerun()
    return fleet


@pytest.fixture
def xss(xss_master: Fleet, tmp_path: Path) -> Fleet:
    return Fleet(copy_db(xss_master.db, tmp_path), xss_master.source, xss_master.at)
