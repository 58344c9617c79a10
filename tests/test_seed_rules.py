"""SPEC layer 1, exactly: each seed rule alone, inside a longer line, at its boundaries, in order.

Run through both strategies' `normalize` (seed-v1 and mined-v1 must agree: `normalized` is always
the SPEC text) and through the CLI path (redaction first, then the rules).
"""

from __future__ import annotations

import pytest

from errorsift.signatures.base import Rule, stable_key
from errorsift.signatures.mined import MinedGrouper
from errorsift.signatures.seed import SeedNormalizer

CASES = [
    # (name, input, expected)
    ("customer_id colon", "customer_id: acme-42", "[CUSTOMER_SCOPE]"),
    ("account-id space", "account-id 9f2", "[CUSTOMER_SCOPE]"),
    ("tenantid no sep", "TENANTID:x", "[CUSTOMER_SCOPE]"),
    ("customer id needs separator", "customer_id=acme", "customer_id=acme"),
    ("user_id digits", "user_id: 42", "[USER_ID]"),
    ("user-id case", "USER-ID 7", "[USER_ID]"),
    ("user_id needs digits", "user_id: bob", "user_id: bob"),
    ("timestamp T Z", "2024-01-02T03:04:05Z", "[TIMESTAMP]"),
    ("timestamp space fraction", "2024-01-02 03:04:05.123456", "[TIMESTAMP]"),
    ("date alone stays", "2024-01-02", "2024-01-02"),
    ("guid lower", "0f8fad5b-d9cb-469f-a165-70867728950e", "[GUID]"),
    ("guid upper", "0F8FAD5B-D9CB-469F-A165-70867728950E", "[GUID]"),
    ("five digits", "12345", "[ID]"),
    ("four digits stay", "1234", "1234"),
    ("digits inside a word stay", "abc12345", "abc12345"),
    ("whitespace collapses", "  a \t\n b  ", "a b"),
]


@pytest.mark.parametrize("name,text,expected", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("strategy", [SeedNormalizer, MinedGrouper], ids=["seed", "mined"])
def test_rule_alone_and_inside_a_longer_line(name, text, expected, strategy):
    normalize = strategy().normalize
    assert normalize(text) == expected
    assert normalize(f"Payment failed: {text} while charging card") == f"Payment failed: {expected} while charging card"


def test_rules_apply_in_order():
    # Rule 1 runs before rule 4, so a GUID customer id is a customer scope, not a GUID.
    text = "tenant_id: 0f8fad5b-d9cb-469f-a165-70867728950e at 2024-01-02T03:04:05Z user_id: 99999"
    assert SeedNormalizer().normalize(text) == "[CUSTOMER_SCOPE] at [TIMESTAMP] [USER_ID]"


def test_key_is_sixteen_hex_of_md5_of_the_normalized_text():
    result = SeedNormalizer().sign("Order 123456 failed")
    assert result.normalized == "Order [ID] failed"
    assert result.key == stable_key("Order [ID] failed") == "19ed6fe09007d1c1"  # pinned: keys never move
    assert len(result.key) == 16 and int(result.key, 16) >= 0
    assert SeedNormalizer().sign("Order 654321 failed").key == result.key


def test_extra_rules_extend_the_seed_and_change_the_strategy_id():
    extra = SeedNormalizer([Rule("order", r"ORD-[A-Z0-9]+", "[ORDER]")])
    assert extra.normalize("lost ORD-AB12 for user_id: 3") == "lost [ORDER] for [USER_ID]"
    assert extra.strategy_id != SeedNormalizer.strategy_id and extra.strategy_id.startswith("seed-v1+")
