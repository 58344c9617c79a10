"""Regenerate the dashboard screenshots in docs/ from a fresh demo fleet, with headless chromium.

    .venv/bin/python -m tests.web.screenshots [docs]

Writes screenshot-home.png (the morning cards) and screenshot-pattern.png (the SPIKE pattern's page).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner
from playwright.sync_api import sync_playwright

from errorsift.cli import main as cli
from errorsift.web.app import create_app

from .live import CHROMIUM, CHROMIUM_ARGS, live_server


def take(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        result = CliRunner().invoke(cli, ["demo", "--db", str(db), "--out", tmp, "--json"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        with live_server(create_app(str(db))) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
            page.goto(base + "/")
            page.screenshot(path=str(out / "screenshot-home.png"))
            spike = page.locator("#cards li", has=page.locator(".flag-spike")).first
            page.goto(base + f"/patterns/{spike.get_attribute('data-signature')}")
            page.screenshot(path=str(out / "screenshot-pattern.png"), full_page=True)
            browser.close()
    print(f"wrote {out / 'screenshot-home.png'} and {out / 'screenshot-pattern.png'}")


if __name__ == "__main__":
    take(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
