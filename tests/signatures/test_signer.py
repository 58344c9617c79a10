"""The signer's three cache levels: they only save work, they never change a key."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errorsift.signatures import signer as signer_module
from errorsift.signatures.mined import MinedGrouper
from errorsift.signatures.redact import Redactor
from errorsift.signatures.signer import Signer, digit_shape, folded_shape, message_shape


def keys(lines: list[str], *, fold: bool = True, monkeypatch: pytest.MonkeyPatch | None = None) -> list[str]:
    grouper = MinedGrouper()
    signer = Signer(grouper, Redactor().redact_with_counts)
    if not fold:
        assert monkeypatch is not None
        monkeypatch.setattr(signer_module, "folded_shape", lambda raw: "")
    out = [signer.sign(line)[0].key for line in lines]
    return [grouper.resolve(k) for k in out]


# Lines that differ only in a name the masker hides, mixed with look-alikes that must not fold
# into them: secret-named keys, quoted values, span rules, brackets and trailing punctuation.
TRICKY = [
    "proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS",
    "clients4.google.com:443 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS",
    "www.qq.com:80 open through proxy proxy.cse.cuhk.edu.hk:5070 SOCKS5",
    "db_password:5432 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS",
    "a-token:80 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS",
    "x.passwd:80 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS",
    "PendingReds:0 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS",
    "connection from 82.252.162.81 (lns-vlq-45-tou.adsl.proxad.net) at Sat Jun 18 02:08:10 2005",
    "connection from 24.54.76.216 (24-54-76-216.bflony.adelphia.net) at Sat Jun 18 02:08:10 2005",
    "connection from 24.54.76.216 ('quoted.example.org') at Sat Jun 18 02:08:10 2005",
    "ciod: Error loading /bgl/apps/followup/MINIBEN/torus-latency.rts: invalid or missing program image",
    "ciod: Error loading /home/draeger/testQboxhang: invalid or missing program image",
    "ciod: Error loading ./runtime_malloc: invalid or missing program image",
    "ciod: Error loading /a/f(x): invalid or missing program image",
    "ciod: Error loading (/a/b): invalid or missing program image",
    "ciod: Error loading /a/b.. invalid or missing program image",
    "customer_id: web1.example.com:80 failed over",
    "customer_id: web2.example.org:81 failed over",
    "user_id 12.x.example.com:80 failed over",
    "user_id ab.x.example.com:80 failed over",
    'request tag="a.example.com:80 b" failed',
    'request tag="c.example.com:80 d" failed',
    "sent to alice@mail.example.com:25 ok",
    "sent to bob@mail.example.com:25 ok",
    "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln:80 refused",
    "jwt host.example.com:80 refused",
    "Bearer abcdefgh1234.example.com:80 refused",
    "Bearer host.example.com:80 refused",
    "path /x/password=abc/y, then /x/y/z, done",
    "path /x/other/y, then /x/y/z, done",
    "nul \x00 token and host.example.com:80",
    "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=a.b.example.net  user=root",
    "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=c-d.example.org  user=root",
    "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=localhost  user=guest",
    "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=... user=guest",
    "set cookie=x.1 a=b now",
    "set cookie=y.2 a=b now",
    "set password=abc.1 now",
    "set k=f(x) now",
    "connection from 1.2.3.4 (host.example.net) at Fri Jun 17 07:07:00 2005",
    "connection from 1.2.3.4 (host.example.net) at Sat Jul  2 17:00:01 2005",
    "connection from 1.2.3.4 (host.example.net) at (Sun Jul 3 17:00:01 2005)",
    "connection from 1.2.3.4 (host.example.net) at (Mon Aug 4 17:00:01 2006)",
    "connection from 1.2.3.4 (host.example.net) at Mon Aug 4 17:00:01 2006, May 5",
]


def test_folding_never_changes_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert keys(TRICKY) == keys(TRICKY, fold=False, monkeypatch=monkeypatch)


def test_folded_names_share_one_signing() -> None:
    grouper = MinedGrouper()
    signer = Signer(grouper, Redactor().redact_with_counts)
    first = signer.sign("clients4.google.com:443 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS")
    second = signer.sign("www.qq.com:80 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS")
    assert first[2] and not second[2]  # the second was never redacted or masked
    assert first[0].key == second[0].key


def test_folding_steps_aside_when_a_span_rule_could_read_across_tokens() -> None:
    assert folded_shape("customer_id: web1.example.com:80 failed over") == ""
    assert folded_shape('request tag="a.example.com:80 b" failed') == ""
    assert folded_shape("nul \x00 and host.example.com:80") == ""
    assert folded_shape("nothing to fold here") == ""
    assert folded_shape("from (host.example.com): /var/log/x.log, done") == "from (\x00): \x00, done"


def test_levels_and_fresh_flags() -> None:
    grouper = MinedGrouper()
    signer = Signer(grouper, Redactor().redact_with_counts)
    assert signer.sign("job 12 failed on node-1")[2]  # signed
    assert not signer.sign("job 34 failed on node-2")[2]  # same digit shape
    assert not signer.sign("job 123456 failed on node-77")[2]  # same message shape
    assert digit_shape("a1b22") == b"a0b00" and message_shape("id ab12cd, 0x1f, 7") == "id 0, 0x0, 0"


def test_mined_grouper_behind_a_signer_leaves_normalization_to_the_caller() -> None:
    grouper = MinedGrouper()
    signer = Signer(grouper, Redactor().redact_with_counts)
    result = signer.sign("payment failed for customer_id: 991 after 123456 ms")[0]
    assert result.normalized == ""
    assert grouper.normalize("payment failed for customer_id: 991") == "payment failed for [CUSTOMER_SCOPE]"
    assert result.key == MinedGrouper().sign("payment failed for customer_id: 991 after 123456 ms").key


_TOKENS = st.sampled_from(
    [
        "web1.example.com:80",
        "db-2.example.org:5432",
        "x.token:80",
        "pwd:12",
        "host.example.com",
        "(host.example.com)",
        "'a.b.example.net',",
        "/var/log/app.log",
        "/var/log/app.log:",
        "(/a/b)",
        "/a/f(x)",
        "user_id",
        "customer_id:",
        "failed",
        "for",
        "42",
        "0x1f",
        "alice@example.com",
        "Bearer",
        "password:",
        'tag="x',
        'y"',
        "10.0.0.1:80",
        "\t",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_TOKENS, min_size=1, max_size=8).map(" ".join), min_size=1, max_size=12))
def test_folding_never_changes_a_key_on_any_mix(lines: list[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        assert keys(lines) == keys(lines, fold=False, monkeypatch=patch)


@pytest.mark.parametrize(
    "token",
    ["1" * 65536, "1-" * 32768, "/a/" + "." * 65536 + "x", "a." * 32768, "w-" * 32768 + ":", "/./" * 21845],
    ids=["digits", "digit-dash", "path-dots", "labels", "dashes-colon", "slash-dots"],
)
def test_a_64k_token_signs_in_linear_time(token: str) -> None:
    start = time.perf_counter()
    folded_shape(f"x {token} y")
    Signer(MinedGrouper(), Redactor().redact_with_counts).sign(f"x {token} y")
    assert time.perf_counter() - start < 2.0
