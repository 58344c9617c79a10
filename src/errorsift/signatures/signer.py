"""Redact, then sign — once per message shape: the one signing path for `run` and `signature`."""

from __future__ import annotations

import re
from collections.abc import Callable

from errorsift.models import SignatureResult
from errorsift.signatures.base import Grouper

SHAPE_CACHE_MAX = 100_000
_DIGITS = re.compile(r"\d+")
# A hex run that holds a digit (after digits became "0"), anchored at the start of the run and
# possessive, so it is linear even on an attacker's 64 KiB line of hex letters.
_HEX_RUN = re.compile(r"(?<![0-9a-fA-F])[a-fA-F]*+0[0-9a-fA-F]*+")


def message_shape(raw: str) -> str:
    """The message with every digit run and digit-bearing hex run (ids, GUIDs, hashes) as `0`.

    Messages that differ only there are the same error, so they share one signing: this is what
    makes a million events cost a few thousand grouper calls.
    """
    return _HEX_RUN.sub("0", _DIGITS.sub("0", raw))


class Signer:
    """Redact, then sign — once per message shape. `run` and `errorsift signature` both use it,
    so the CLI gives, line for line, the key a run would store (same input order, same keys)."""

    def __init__(self, grouper: Grouper, redact: Callable[[str], tuple[str, dict[str, int]]]) -> None:
        self.grouper = grouper
        self.redact = redact
        self._shapes: dict[str, tuple[SignatureResult, dict[str, int]]] = {}

    def sign(self, raw: str) -> tuple[SignatureResult, dict[str, int], bool]:
        """(result, redaction counts, fresh). On a cache hit the result is the first message of the
        same shape's: its key and template hold, its `normalized` text belongs to that message."""
        shape = message_shape(raw)
        hit = self._shapes.get(shape)
        if hit is not None:
            return hit[0], hit[1], False
        text, found = self.redact(raw)
        result = self.grouper.sign(text)
        if len(self._shapes) >= SHAPE_CACHE_MAX:
            self._shapes.clear()
        self._shapes[shape] = (result, found)
        return result, found, True
