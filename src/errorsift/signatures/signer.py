"""Redact, then sign — once per message shape: the one signing path for `run` and `signature`."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from errorsift.models import SignatureResult
from errorsift.signatures.base import Grouper
from errorsift.signatures.mined import MinedGrouper

SHAPE_CACHE_MAX = 100_000
_Entry = tuple[SignatureResult, dict[str, int], bool]
# One pass: a run of hex characters that holds a digit (ids, GUIDs, hashes, plain numbers) becomes
# `0`. Anchored at the start of a run and possessive, so it is linear even on an attacker's 64 KiB
# line of hex letters.
_HEX_RUN = re.compile(r"(?<![0-9a-fA-F])[a-fA-F]*+[0-9][0-9a-fA-F]*+")
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
# Whole tokens the masker turns into `<*>` whatever their letters, keeping the brackets, quotes
# and trailing punctuation around them: `host.name:port`, `dotted.host.name`, `/absolute/path`,
# and the value of `key=value` (not a plain word: the miner learns from those).
# On a message-shape miss they fold to one mark, so a message that differs from a signed one only
# in such names (a proxy log's hosts, a file path) reuses its signing. The mark is a NUL; a message
# that holds one is never folded.
_MARK = "\x00"
# Possessive quantifiers keep it linear on a 64 KiB token. A trailing `.`, `,` or `:` is part of
# a name here but punctuation to the masker, so `_mark` puts it back after the mark.
_NAMES = (
    r"(?![^\W\d]*+:)[\w.-]++:\d{1,5}"  # a name holding a dot, dash or digit, then a port
    r"|(?:[A-Za-z0-9-]++\.){2,}[a-z]{2,6}"
    r"|/[\w.~+@%,-]*+/[\w.~+@%,/-]*+"
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s++(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r"\s++\d{1,2}\s++\d{1,2}:\d\d:\d\d(?:\s++\d{4})?"  # a syslog date: one `<*>` to the masker
)
_KEY_VALUE = r"|([A-Za-z_][\w.:\-]*+=)([\w.:/@%+~-]++)"  # key=value, the key kept (`rhost=<*>`)
_AFTER = r")(?=[)\]}'\",;:.]*+(?!\S))"
_FOLDS = re.compile(rf"(?<!\S)(?:([(\[{{'\"]*+)({_NAMES}){_AFTER}")
_FOLDS_KV = re.compile(rf"(?<!\S)(?:([(\[{{'\"]*+)({_NAMES}){_KEY_VALUE}{_AFTER}")
# Where masking.SPAN_RULES (`customer_id: x`, `user_id 42`) could start: they read across tokens.
_ID_SPAN = re.compile(r"(?:customer|account|tenant|user)[_-]?id[:\s]", re.IGNORECASE)
_FOLD_CASE = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})  # what IGNORECASE folds


def _mark(match: re.Match[str]) -> str:
    """The brackets and quotes before a name, or a key; the mark; the name's trailing `.,:`."""
    key = match.group(3) if match.lastindex == 4 else None
    if key is None:
        name = match.group(2)
        return match.group(1) + _MARK + name[len(name.rstrip(".,")) :]
    value = match.group(4)
    core = value.rstrip(".:")
    if not core or core.isalpha():
        return match.group(0)  # a word value is learned from (`user=fztu`); an empty one is no value
    return key + _MARK + value[len(core) :]


def folded_shape(raw: str) -> str:
    """`message_shape` with host names, host:port pairs, paths, syslog dates and non-word `key=`
    values folded, or "" when that would not be exact: nothing to fold, or a multi-token masking
    rule (`customer_id: x`, `k="a b"`) could read across a folded token."""
    if _MARK in raw or '="' in raw or "='" in raw:
        return ""
    lower = raw.lower() if raw.isascii() else raw.translate(_FOLD_CASE).lower()
    if "id" in lower and _ID_SPAN.search(raw):
        return ""
    folded = (_FOLDS_KV if "=" in raw else _FOLDS).sub(_mark, raw)
    return _HEX_RUN.sub("0", folded) if folded != raw else ""


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

    Three cache levels hold the same entries: the digit shape (a byte translation, ~0.1 µs); on its
    miss, the message shape (one regex pass, which also folds hex ids and digit-run lengths); on
    that miss, the folded shape (host names and paths, which the masker would hide anyway).
    """

    def __init__(self, grouper: Grouper, redact: Callable[[str], tuple[str, dict[str, int]]]) -> None:
        self.grouper = grouper
        self.redact = redact
        # Key-only signing where the grouper offers it: callers read `grouper.normalize(text)` for
        # the samples they keep, so the signer never pays for a seed normalization nobody reads.
        sign = grouper.sign
        if isinstance(grouper, MinedGrouper):
            sign = functools.partial(grouper.sign, normalize=False, shape_cached=True)
        self._sign = sign
        # Every level maps to the same (result, redaction counts, False) entry of a signing.
        self._digits: dict[bytes, _Entry] = {}
        self._shapes: dict[str, _Entry] = {}
        self._folded: dict[str, _Entry] = {}

    def sign(self, raw: str) -> tuple[SignatureResult, dict[str, int], bool]:
        """(result, redaction counts, fresh).

        On a cache hit the result is the first message of the same shape's: its key and template
        hold. Its `normalized` text is not this message's (and is empty for the mined grouper):
        read `grouper.normalize(redacted text)` for that."""
        digits = raw.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZERO)
        hit = self._digits.get(digits)
        if hit is not None:
            return hit
        shape = _HEX_RUN.sub("0", raw)
        shapes = self._shapes
        hit = shapes.get(shape)
        fresh = False
        if hit is None:
            folded = folded_shape(raw)
            hit = self._folded.get(folded) if folded else None
            if hit is None:
                fresh = True
                text, found = self.redact(raw)
                hit = (self._sign(text), found, False)
                if folded:
                    if len(self._folded) >= SHAPE_CACHE_MAX:
                        self._folded.clear()
                    self._folded[folded] = hit
            if len(shapes) >= SHAPE_CACHE_MAX:
                shapes.clear()
            shapes[shape] = hit
        if len(self._digits) >= SHAPE_CACHE_MAX:
            self._digits.clear()
        self._digits[digits] = hit
        return (hit[0], hit[1], True) if fresh else hit
