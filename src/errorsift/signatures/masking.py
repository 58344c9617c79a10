"""Typed masks that turn the variable parts of a message into `<*>` before mining.

Why masks first: the miner can only learn a template from lines that line up token by token, and
values such as IPs, ids, sizes and dates change both the words and the number of tokens.

Rules are data rows (`Rule(name, pattern, placeholder)`), compiled once into combined regexes:

* ``TOKEN_RULES`` classify one whitespace token (its surrounding brackets and punctuation
  stripped). A match replaces the WHOLE token (masking part of a token creates new shapes), keeping
  the brackets: ``(10.0.0.1):`` -> ``(<*>):``. ``key=value`` keeps the key: ``uid=0`` -> ``uid=<*>``.
* ``SPAN_RULES`` are the few values that contain spaces (the seed's ``customer id: x`` and
  ``user_id 42`` keep their seed placeholders; ``key="a quoted value"``). They only run when a cheap
  literal guard says they could match.
* Words that only make sense next to a value are absorbed into it: units (``1398 bytes (1.36 KB)``,
  ``19.05 seconds``) and date words (``Fri Jun 17 07:07:00 2005``). Adjacent ``<*>`` merge.

Speed: token results are cached, and whole messages are cached by their *digit shape* (every digit
read as ``1``): masks depend on how many digits a token has, not on their values, so a message that
differs from a seen one only in digits reuses its result, refilling the few kept digit-bearing words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from errorsift.signatures.base import Rule
from errorsift.signatures.redact import REDACTION_RULES

WILDCARD = "<*>"
MASKING_VERSION = "masks-v1"  # bump when a rule change would move existing signatures

TOKEN_RULES: tuple[Rule, ...] = (
    Rule("placeholder", r"<(?:\*|email|ip|jwt|card|secret|token|uuid|phone|url|hex|num|id|key|hash)>", WILDCARD, re.I),
    Rule("url", r"[A-Za-z][\w+.-]*://\S*", WILDCARD),
    Rule("guid", r".*?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}.*", WILDCARD),
    Rule("timestamp", r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}[.,\d]*)?(?:Z|[+-]\d{2}:?\d{2})?)?", WILDCARD),
    Rule("ipv4", r".*?(?<!\d)\d{1,3}(?:\.\d{1,3}){3}(?!\d).*", WILDCARD),
    Rule("mac", r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5,}", WILDCARD),
    Rule("ipv6", r"(?=[^:]*:[^:]*:)[0-9A-Fa-f:]{6,}(?:%\w+)?", WILDCARD),
    Rule("hex", r"0[xX][0-9A-Fa-f]+|(?=[a-fA-F]*\d)[0-9A-Fa-f]{8,}", WILDCARD),
    Rule("host_port", r"[\w.-]+:\d{1,5}", WILDCARD),
    Rule("hostname", r"(?:[A-Za-z0-9-]+\.){2,}[a-z]{2,6}", WILDCARD),
    Rule("path", r".*?(?:^|[(=:'\"])(?:~|\.{1,2})?/[^/\s]*/.*|\.{0,2}/[\w.-]+|[A-Za-z]:\\.*|\\\\\w.*", WILDCARD),
    Rule("numbered_id", r"[A-Za-z]\w*(?:\.[A-Za-z]\w*)*[-_.:#]-?\d[\w:.-]*", WILDCARD),
    Rule("number", r"[-+#<>~]?\d+(?:[.,:/]\d+)*(?:[eE][-+]?\d+)?[A-Za-z%]{0,3}", WILDCARD),
)

SPAN_RULES: tuple[Rule, ...] = (
    Rule("customer_scope", r"(?:customer|account|tenant)[_-]?id[:\s]+\S+", "[CUSTOMER_SCOPE]", re.I),
    Rule("user_id", r"user[_-]?id[:\s]+\d+", "[USER_ID]", re.I),
    Rule("quoted_value", r"(?<==)(?:\"[^\"]*\"|'[^']*')", WILDCARD),
)

# Words absorbed into an adjacent value (`<*>`): units after a number, date words around one.
_UNIT_TEXT = """
b kb mb gb tb pb kib mib gib tib byte bytes ms us ns µs s sec secs second seconds
min mins minute minutes h hr hrs hour hours day days
"""
_DATE_TEXT = """
mon tue wed thu fri sat sun monday tuesday wednesday thursday friday saturday sunday
jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august
september october november december utc gmt pst pdt est edt cst cdt mst mdt cet cest bst ist jst am pm
"""
UNIT_WORDS = frozenset(_UNIT_TEXT.split())
DATE_WORDS = frozenset(_DATE_TEXT.split())

_OPENERS = "([{'\""
_CLOSERS = ")]}'\",;:."
_PAIRS = {")": "(", "]": "[", "}": "{", ">": "<"}  # keep `f(x)` and `a[0]` closers with their openers
_KEY_VALUE = re.compile(r"([A-Za-z_][\w.:\-]*=)(.+)")
_EMPTY = frozenset({"()", "[]", "{}", "''", '""'})  # an empty value is still a value
_DIGIT_RATIO = 0.3  # a token with this share of digits is a value (Brain's rule): `J16`, `bglio559`
_DIGIT_SHAPE = bytes.maketrans(b"0123456789", b"1111111111")
_CACHE_LIMIT = 100_000
# Redaction runs first; its typed placeholders (`<ip>`, `<card>`, …) are values, wherever they sit in
# a token (`<ip>:50010`, `blk_-<card>`), so they become the wildcard before tokens are classified.
_REDACTED = re.compile(
    "|".join(sorted({re.escape(r.placeholder) for r in REDACTION_RULES} | {"<unredactable>"}, key=len, reverse=True))
)

_KEEP, _VAR, _UNIT, _DATE = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Masked:
    """A masked message: the token tuple the miner sees and how many values each rule masked."""

    tokens: tuple[str, ...]
    counts: dict[str, int]


def _combine(rules: tuple[Rule, ...]) -> re.Pattern[str]:
    """One alternation with a named group per rule: one scan instead of one per rule."""
    parts = []
    for index, rule in enumerate(rules):
        inline = "(?i:" if rule.flags & re.IGNORECASE else "(?:"
        parts.append(f"(?P<r{index}>{inline}{rule.pattern}))")
    return re.compile("|".join(parts))


class Masker:
    """Compiled mask rules. `mask` is pure and deterministic; the caches only save time."""

    version = MASKING_VERSION

    def __init__(self, token_rules: tuple[Rule, ...] = TOKEN_RULES, span_rules: tuple[Rule, ...] = SPAN_RULES):
        self.token_rules = token_rules
        self.span_rules = span_rules
        self._token = _combine(token_rules)
        self._span = _combine(span_rules)
        self._token_names = {f"r{i}": r.name for i, r in enumerate(token_rules)}
        self._token_holders = {f"r{i}": r.placeholder for i, r in enumerate(token_rules)}
        self._span_names = {f"r{i}": r.name for i, r in enumerate(span_rules)}
        self._span_holders = {f"r{i}": r.placeholder for i, r in enumerate(span_rules)}
        self._tokens: dict[str, tuple[str, str, int]] = {}
        # digit shape -> (tokens, holes (token index, split index), counts, span fired)
        self._shapes: dict[bytes, tuple[tuple[str, ...], tuple[tuple[int, int], ...], dict[str, int], bool]] = {}

    def mask(self, message: str) -> Masked:
        """Mask a message into tokens; never raises, and masking its own output changes nothing."""
        if "<" in message:
            message = _REDACTED.sub(WILDCARD, message)
        shape = message.encode("utf-8", "surrogatepass").translate(_DIGIT_SHAPE)
        hit = self._shapes.get(shape)
        if hit is not None:
            tokens, holes, counts, spanned = hit
            if holes:
                parts = (self._spans(message, {}) if spanned else message).split()
                filled = list(tokens)
                for index, source in holes:
                    filled[index] = parts[source]
                tokens = tuple(filled)
            return Masked(tokens, counts)
        counts: dict[str, int] = {}
        text = self._spans(message, counts)
        tokens, holes = self._mask_tokens(text.split(), counts)
        if len(self._shapes) >= _CACHE_LIMIT:
            self._shapes.clear()
        self._shapes[shape] = (tokens, holes, counts, text is not message)
        return Masked(tokens, counts)

    def tokens(self, message: str) -> tuple[str, ...]:
        return self.mask(message).tokens

    def render(self, message: str) -> str:
        """The masked message as text (tests, explanations)."""
        return " ".join(self.mask(message).tokens)

    def _spans(self, message: str, counts: dict[str, int]) -> str:
        """Apply the multi-word rules, only when a literal guard says one could match."""
        if '="' not in message and "='" not in message and "id" not in message.lower():
            return message

        def replace(match: re.Match[str]) -> str:
            group = match.lastgroup or ""
            name = self._span_names[group]
            counts[name] = counts.get(name, 0) + 1
            return self._span_holders[group]

        return self._span.sub(replace, message)

    def _mask_tokens(
        self, parts: list[str], counts: dict[str, int]
    ) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
        cache = self._tokens
        out: list[str] = []
        kinds: list[int] = []
        sources: list[int] = []
        dates = False
        for index, raw in enumerate(parts):
            hit = cache.get(raw)
            if hit is None:
                hit = self._classify(raw)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[raw] = hit
            token, rule, kind = hit
            if rule:
                counts[rule] = counts.get(rule, 0) + 1
            if kind == _UNIT:
                if out and kinds[-1] == _VAR and out[-1].endswith(WILDCARD):
                    out[-1] += token  # `<*>` + `,` or `(<*>` + `)`: the unit joins the value
                    if len(out) > 1 and out[-1] == f"({WILDCARD})" and out[-2] == WILDCARD:
                        out.pop()  # `1398 bytes (1.36 KB)`: the aside repeats the value
                        kinds.pop()
                        sources.pop()
                    continue
                token, kind = raw, _KEEP
            elif kind == _DATE:
                dates = True
            out.append(token)
            kinds.append(kind)
            sources.append(index)
        if dates:
            _absorb_dates(out, kinds)
        tokens: list[str] = []
        holes: list[tuple[int, int]] = []
        for token, kind, source in zip(out, kinds, sources, strict=True):
            if token == WILDCARD and tokens and tokens[-1] == WILDCARD:
                continue
            if kind != _VAR and any(c.isdigit() for c in token):
                holes.append((len(tokens), source))  # kept verbatim: refilled on a shape-cache hit
            tokens.append(token)
        return tuple(tokens), tuple(holes)

    def _classify(self, raw: str) -> tuple[str, str, int]:
        """(replacement, rule name or "", kind) for one whitespace token."""
        start, end = 0, len(raw)
        while start < end and raw[start] in _OPENERS:
            start += 1
        while end > start and raw[end - 1] in _CLOSERS:
            opener = _PAIRS.get(raw[end - 1])
            if opener is not None and opener in raw[start : end - 1]:
                break
            end -= 1
        core = raw[start:end]
        prefix, suffix = raw[:start], raw[end:]
        if not core:
            if raw in _EMPTY:
                return f"{raw[0]}{WILDCARD}{raw[-1]}", "empty", _VAR
            return raw, "", _KEEP
        if core == WILDCARD or (WILDCARD in core and not _KEY_VALUE.fullmatch(core)):
            return f"{prefix}{WILDCARD}{suffix}", "", _VAR
        lower = core.lower()
        if lower in UNIT_WORDS and not prefix:
            return suffix, "", _UNIT
        if lower in DATE_WORDS:
            return raw, "", _DATE
        if core[0] in "[" and core[-1] == "]" and core[1:-1].replace("_", "").isupper():
            return raw, "", _KEEP  # a seed placeholder such as [USER_ID]
        if prefix[-1:] in ("'", '"') and suffix[:1] == prefix[-1]:
            return f"{prefix}{WILDCARD}{suffix}", "quoted", _VAR
        kv = _KEY_VALUE.fullmatch(core)
        if kv:
            return f"{prefix}{kv.group(1)}{WILDCARD}{suffix}", "key_value", _VAR
        match = self._token.fullmatch(core)
        if match:
            group = match.lastgroup or ""
            return f"{prefix}{self._token_holders[group]}{suffix}", self._token_names[group], _VAR
        digits = sum(c.isdigit() for c in core)
        if digits and digits / len(core) >= _DIGIT_RATIO:
            return f"{prefix}{WILDCARD}{suffix}", "digits", _VAR
        return raw, "", _KEEP


def _absorb_dates(out: list[str], kinds: list[int]) -> None:
    """Date words touching a value become part of it: `Fri Jun <*>` -> `<*>`."""
    for order in (range(len(out) - 2, -1, -1), range(1, len(out))):
        for i in order:
            if kinds[i] != _DATE:
                continue
            neighbour = i + 1 if order.step < 0 else i - 1
            if kinds[neighbour] == _VAR and out[neighbour] == WILDCARD:
                out[i], kinds[i] = WILDCARD, _VAR
