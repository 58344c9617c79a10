"""Redact, then sign — once per message shape: the one signing path for `run` and `signature`."""

from __future__ import annotations

import re
from collections.abc import Callable

from errorsift.models import SignatureResult
from errorsift.signatures.base import Grouper

SHAPE_CACHE_MAX = 100_000
# One pass: a run of hex characters that holds a digit (ids, GUIDs, hashes, plain numbers) becomes
# `0`. Anchored at the start of a run and possessive, so it is linear even on an attacker's 64 KiB
# line of hex letters.
_HEX_RUN = re.compile(r"(?<![0-9a-fA-F])[a-fA-F]*+[0-9][0-9a-fA-F]*+")
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0000000000")


def grouped_text(message: str, stack: str) -> str:
    """The text that is grouped: the message, plus its stack trace when the source kept one apart."""
    if not stack:
        return message
    if message and message in stack:
        return stack
    return f"{message}\n{stack}" if message else stack


def message_shape(raw: str) -> str:
    """The message with every digit run and digit-bearing hex run (ids, GUIDs, hashes) as `0`.

    Messages that differ only there are the same error, so they share one signing: this is what
    makes a million events cost a few thousand grouper calls.
    """
    return _HEX_RUN.sub("0", raw)


def digit_shape(raw: str) -> bytes:
    """The message's UTF-8 bytes with every digit as `0`: a C-speed refinement of `message_shape`.

    Two messages with equal digit shapes differ only in digit values, so they have equal message
    shapes too; it is the first, cheap level of the signer's cache.
    """
    return raw.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZERO)


class Signer:
    """Redact, then sign — once per message shape. `run` and `errorsift signature` both use it,
    so the CLI gives, line for line, the key a run would store (same input order, same keys).

    Two cache levels hold the same entries: the digit shape (a byte translation, ~0.1 µs) and, on
    its miss, the message shape (one regex pass, which also folds hex ids and digit-run lengths).
    """

    def __init__(self, grouper: Grouper, redact: Callable[[str], tuple[str, dict[str, int]]]) -> None:
        self.grouper = grouper
        self.redact = redact
        self._digits: dict[bytes, tuple[SignatureResult, dict[str, int]]] = {}
        self._shapes: dict[str, tuple[SignatureResult, dict[str, int]]] = {}

    def sign(self, raw: str, shape: str = "") -> tuple[SignatureResult, dict[str, int], bool]:
        """(result, redaction counts, fresh). On a cache hit the result is the first message of the
        same shape's: its key and template hold, its `normalized` text belongs to that message."""
        digits = raw.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZERO)
        hit = self._digits.get(digits)
        if hit is not None:
            return hit[0], hit[1], False
        shape = _HEX_RUN.sub("0", raw)
        hit = self._shapes.get(shape)
        fresh = hit is None
        if hit is None:
            text, found = self.redact(raw)
            hit = (self.grouper.sign(text), found)
            if len(self._shapes) >= SHAPE_CACHE_MAX:
                self._shapes.clear()
            self._shapes[shape] = hit
        if len(self._digits) >= SHAPE_CACHE_MAX:
            self._digits.clear()
        self._digits[digits] = hit
        return hit[0], hit[1], fresh
