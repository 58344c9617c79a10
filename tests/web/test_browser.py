"""The morning triage in a real browser: Playwright driving Debian's chromium, headless.

Skipped only when /usr/bin/chromium is absent (CI installs it with `apt-get install chromium`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from errorsift.web.app import create_app

from .conftest import XSS_CUSTOMER, XSS_IDS, Fleet
from .live import CHROMIUM, CHROMIUM_ARGS, live_server

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)

QUIET_CARD = "#cards li:not(:has(.flag-new)):not(:has(.flag-spike)):not(:has(.flag-spread))"
# Recorded before any page script runs: would show a payload that got as far as the CSP.
WATCH_CSP = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective));"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    page.add_init_script(WATCH_CSP)
    yield page
    context.close()


def test_morning_triage_filter_open_mark_noise_and_open_a_customer(page: Page, demo: Fleet) -> None:
    with live_server(create_app(str(demo.db))) as base:
        page.goto(base + "/")
        expect(page.locator("h1")).to_have_text("Patterns in the current window")
        assert page.locator("#cards > li").count() > 5

        page.select_option("select[name=bucket]", "platform")  # htmx swaps the list, keeps the URL
        page.wait_for_url(re.compile(r"bucket=platform"))
        expect(page.locator("#cards > li").first).to_have_attribute("data-bucket", "platform")
        buckets = page.locator("#cards > li").evaluate_all("els => els.map(e => e.dataset.bucket)")
        assert buckets and set(buckets) == {"platform"}
        expect(page.locator("#filter-links a[aria-current]")).to_contain_text("platform")
        page.reload()  # the filter lives in the URL
        expect(page.locator("select[name=bucket]")).to_have_value("platform")

        card = page.locator(QUIET_CARD).first
        key = card.get_attribute("data-signature")
        card.locator(".card-title a").click()
        page.wait_for_url(f"**/patterns/{key}")
        expect(page.locator("#support h2")).to_have_text("Support")
        expect(page.locator("#leadership")).to_be_visible()

        page.fill("#mark-noise input[name=reason]", "deploy churn on the platform tier")
        page.click("#mark-noise button")
        page.wait_for_url(re.compile(rf"/patterns/{key}\?done=\d+"))
        expect(page.locator(".flash")).to_contain_text("Saved as action")

        page.goto(base + "/")
        page.reload()
        assert page.locator(f"#cards li[data-signature='{key}']").count() == 0
        folded = page.locator(f"#suppressed li[data-signature='{key}']")
        expect(folded).to_be_hidden()  # folded away…
        page.click("#suppressed summary")
        expect(folded).to_be_visible()  # …but countable and one click away
        expect(folded).to_contain_text("Known noise: deploy churn on the platform tier")

        page.click(f"#suppressed li[data-signature='{key}'] .card-title a")
        first_customer = page.locator("#customers tbody a").first
        name = first_customer.inner_text()
        first_customer.click()
        page.wait_for_url(f"**/customers/{quote(name, safe='')}")
        expect(page.locator("h1")).to_have_text(name)
        expect(page.locator("#customer-patterns")).to_be_visible()
        assert page.dialogs == []  # type: ignore[attr-defined]


def test_run_now_appears_on_the_runs_page(page: Page, demo: Fleet) -> None:
    app = create_app(str(demo.db), run_now=demo.rerun)
    with live_server(app) as base:
        page.goto(base + "/runs")
        expect(page.locator("tr[data-run]")).to_have_count(1)
        page.click("#run-now")
        page.wait_for_url(base + "/runs")
        # the page polls (htmx) while the run is going and shows it when it is done
        expect(page.locator("tr[data-run='2'] .badge.status-ok")).to_be_visible(timeout=60_000)
        expect(page.locator("tr[data-run]")).to_have_count(2)
        expect(page.locator("#run-now")).to_be_enabled()
        assert "Step 1" in page.locator("tr.steps").first.inner_text()


def _visit_and_check(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    state: dict[str, Any] = page.evaluate(
        """() => ({
            xss: window.__xss === undefined ? null : window.__xss,
            csp: window.__csp,
            handlers: [...document.querySelectorAll('*')].flatMap(e =>
                [...e.attributes].filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name)),
            jsLinks: document.querySelectorAll('[href^="javascript:" i], [src^="javascript:" i]').length,
            frames: document.querySelectorAll('iframe, object, embed, img, style').length,
            scripts: [...document.scripts].map(s => s.getAttribute('src')),
        })"""
    )
    assert state["xss"] is None, url
    assert state["csp"] == [], (url, state["csp"])  # nothing even reached the CSP: it was all text
    assert state["handlers"] == [], url
    assert state["jsLinks"] == 0 and state["frames"] == 0, url
    assert state["scripts"] == ["/static/htmx.min.js", "/static/app.js"], url
    for marker in XSS_IDS:
        assert page.locator(f"#{marker}").count() == 0, (url, marker)


def test_xss_corpus_shows_as_text_and_executes_nothing(page: Page, xss: Fleet) -> None:
    with live_server(create_app(str(xss.db))) as base:
        page.goto(base + "/")
        expect(page.locator("#cards code", has_text="<script>window.__xss = ").first).to_be_visible()
        cards = page.locator("#cards li, #suppressed li").evaluate_all("els => els.map(e => e.dataset.signature)")
        urls = [base + "/", base + "/customers", base + "/runs", base + f"/customers/{quote(XSS_CUSTOMER, safe='')}"]
        urls += [base + f"/patterns/{key}" for key in cards]
        page.goto(base + "/")
        for url in urls:
            _visit_and_check(page, url)
        page.goto(base + "/")
        img = page.locator("#cards li", has_text="<img src=").first.get_attribute("data-signature")
        page.goto(base + f"/patterns/{img}")
        page.hover("h1")
        page.hover("#signature")
        page.locator("#signature pre").first.click()
        expect(page.get_by_text("<img src=x onerror=", exact=False).first).to_be_attached()
        assert page.dialogs == []  # type: ignore[attr-defined]
        assert page.evaluate("window.__xss === undefined")
