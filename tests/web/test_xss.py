"""Log text is attacker-controlled: every page shows the XSS corpus as text, never as markup.

The browser test (test_browser.py) proves nothing executes; these check the HTML itself, page by
page, in both renderings, so a regression names the page and the payload.
"""

from __future__ import annotations

import html as htmllib
from html.parser import HTMLParser
from urllib.parse import quote

from errorsift.web.app import create_app

from .conftest import XSS_CUSTOMER, XSS_IDS, XSS_MESSAGES, XSS_SERVICE, Fleet, TestClient

OUR_SCRIPTS = {"/static/htmx.min.js", "/static/app.js"}


class Elements(HTMLParser):
    """Every element the browser would build from a page: (tag, attributes)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))


def elements(body: str) -> list[tuple[str, dict[str, str]]]:
    parser = Elements()
    parser.feed(body)
    parser.close()
    return parser.found


def pages(client: TestClient) -> list[str]:
    ctx = client.get("/?format=json").json()
    keys = [c["signature"] for c in ctx["cards"] + ctx["suppressed"]]
    assert len(keys) >= 3
    customers = [c["customer"] for c in client.get("/customers?format=json").json()["customers"]]
    assert XSS_CUSTOMER in customers
    return (
        ["/", "/customers", "/runs", "/actions", f"/?q={quote('<script>')}", f"/?customer={quote(XSS_CUSTOMER)}"]
        + [f"/patterns/{k}" for k in keys]
        + [f"/customers/{quote(c, safe='')}" for c in customers]
    )


def test_the_corpus_is_shown_as_text_on_every_page(xss: Fleet) -> None:
    with TestClient(create_app(str(xss.db))) as client:
        for path in pages(client):
            response = client.get(path)
            assert response.status_code == 200, path
            for tag, attrs in elements(response.text):
                assert tag not in {"iframe", "img", "style", "object", "embed"}, (path, tag)
                assert not any(name.startswith("on") for name in attrs), (path, tag, attrs)
                assert attrs.get("id") not in XSS_IDS, (path, tag, attrs)
                for name in ("href", "src", "action", "formaction"):
                    assert not attrs.get(name, "").strip().lower().startswith("javascript:"), (path, attrs)
                if tag == "script":
                    assert attrs.get("src") in OUR_SCRIPTS, (path, attrs)
                if tag == "svg":
                    assert attrs.get("class") == "spark" or "aria-label" in attrs, (path, attrs)


def test_the_payloads_survive_as_readable_text(xss: Fleet) -> None:
    with TestClient(create_app(str(xss.db))) as client:
        ctx = client.get("/?format=json").json()
        card = next(c for c in ctx["cards"] if "onerror" in c["template"])
        page = client.get(f"/patterns/{card['signature']}").text
        shown = htmllib.unescape(page)
        assert "<img src=x onerror=" in shown  # a person can still read what was logged
        assert "&lt;img src=x onerror=" in page
        assert XSS_SERVICE in shown and XSS_SERVICE not in page
        # and the JSON rendering carries the raw text, for scripts to escape in their own context
        data = client.get(f"/patterns/{card['signature']}?format=json")
        assert data.headers["content-type"].startswith("application/json")
        assert any("onerror" in s for s in data.json()["signature"]["samples"])
        assert any(m.split(" ")[0] in htmllib.unescape(client.get("/").text) for m in XSS_MESSAGES)
