"""Typed masks that turn the variable parts of a message into `<*>` before mining.

Why masks first: the miner can only learn a template from lines that line up token by token, and
values such as IPs, ids, sizes and dates change both the words and the number of tokens.

Rules are data rows (`Rule(name, pattern, placeholder)`), compiled once into combined regexes:

* ``TOKEN_RULES`` classify one whitespace token (its surrounding brackets and punctuation
  stripped). A match replaces the WHOLE token (masking part of a token creates new shapes), keeping
  the brackets: ``(10.0.0.1):`` -> ``(<*>):``. ``key=value`` keeps the key: ``uid=0`` -> ``uid=<*>``;
  so does a word key before a number (``vCores:-25`` -> ``vCores:<*>``) and a name with a number in
  its brackets (``deny(1)`` -> ``deny(<*>)``, ``objc[412]:`` -> ``objc[<*>]:``). ``true``, ``false``
  and ``null`` are values.
* ``SPAN_RULES`` are the few values that contain spaces (the seed's ``customer id: x`` and
  ``user_id 42`` keep their seed placeholders; ``key="a quoted value"``). They only run when a cheap
  literal guard says they could match.
* Words that only make sense next to a value are absorbed into it: units (``1398 bytes (1.36 KB)``,
  ``19.05 seconds``) and date words (``Fri Jun 17 07:07:00 2005``). Adjacent ``<*>`` merge.
* A pipe separates fields like a space: ``Step_LSC|onStandStepChanged 3579`` is three tokens.
* The words of ``key=word`` values (``user=fztu``) are reported with the tokens: they tell the
  miner what a value looks like elsewhere (``Failed password for fztu``).

Speed: token results are cached, also by the token's digit shape (a new id or number reuses the
classification of one with other digits), and whole messages are cached by their *digit shape*
(every digit read as ``1``; zeros kept when the message holds ``0x``): masks depend on how many
digits a token has, not on their values, so a message that differs from a seen one only in digits
reuses its result, refilling the few kept digit-bearing words.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from errorsift.signatures.base import Rule
from errorsift.signatures.redact import REDACTION_RULES

WILDCARD = "<*>"
MASKING_VERSION = "masks-v2"  # bump when a rule change would move existing signatures

TOKEN_RULES: tuple[Rule, ...] = (
    Rule("placeholder", r"<(?:\*|email|ip|jwt|card|secret|token|uuid|phone|url|hex|num|id|key|hash)>", WILDCARD, re.I),
    Rule("url", r"[A-Za-z][\w+.-]*://\S*", WILDCARD),
    Rule("guid", r".*?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}.*", WILDCARD),
    Rule("timestamp", r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}[.,\d]*)?(?:Z|[+-]\d{2}:?\d{2})?)?", WILDCARD),
    Rule("ipv4", r".*?(?<!\d)\d{1,3}(?:\.\d{1,3}){3}(?!\d).*", WILDCARD),
    Rule("mac", r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5,}", WILDCARD),
    Rule("ipv6", r"(?=[^:]*:[^:]*:)[0-9A-Fa-f:]{6,}(?:%\w+)?", WILDCARD),
    # `0x1f`, a bare 8+ hex run with a digit, and any token holding a `0x` literal (`@0x7fe806eb5d`).
    Rule("hex", r".*?(?<![0-9A-Za-z])0[xX][0-9A-Fa-f]+(?![g-zG-Z_]).*|(?=[a-fA-F]*\d)[0-9A-Fa-f]{8,}", WILDCARD),
    Rule("host_port", r"[\w.-]+:\d{1,5}", WILDCARD),
    Rule("hostname", r"(?:[A-Za-z0-9-]+\.){2,}[a-z]{2,6}", WILDCARD),
    Rule("path", r".*?(?:^|[(=:'\"])(?:~|\.{1,2})?/[^/\s]*/.*|\.{0,2}/[\w.-]+|[A-Za-z]:\\.*|\\\\\w.*", WILDCARD),
    Rule("numbered_id", r"[A-Za-z]\w*(?:\.[A-Za-z]\w*)*[-_.:#]-?\d[\w:.-]*", WILDCARD),
    Rule("literal", r"(?i:true|false|null)", WILDCARD),  # booleans and nulls are always values (_LITERALS)
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
_COLON_VALUE = re.compile(r"([A-Za-z][A-Za-z_]*:)([-+]?\d.*)")
_EMBEDDED = re.compile(r"([A-Za-z_][\w.$]*[{(\[<])(\S*?\d\S*)")
_TRAILING = ")]}>:,;."
_SPAN_WORDS = ("user", "customer", "account", "tenant")  # the id span rules need one of them
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_LITERALS = frozenset({"true", "false", "null"})
_MAY_MASK = re.compile(r"[\d<:/\\=\-]|\..*\.|^(?i:true|false|null)$")
_KEYED_WILDCARD = re.compile(r"(?:[A-Za-z][A-Za-z_]*:|[A-Za-z_][\w.$]*[{(\[<])<\*>[)\]}>:,;.]*")
_SPLITTABLE = frozenset({"numbered_id", "number"})  # rules whose whole-token mask would hide a key
_PAIRED = frozenset(_PAIRS) & frozenset(_CLOSERS)
_NO_DIGITS = str.maketrans("", "", "0123456789")
_ONE_TO_NINE = str.maketrans("0123456789", "1111111111")
_EMPTY = frozenset({"()", "[]", "{}", "''", '""'})  # an empty value is still a value
_DIGIT_RATIO = 0.3  # a token with this share of digits is a value (Brain's rule): `J16`, `bglio559`
_DIGIT_SHAPE = bytes.maketrans(b"0123456789", b"1111111111")
_ZERO_SHAPE = bytes.maketrans(b"123456789", b"111111111")
_CACHE_LIMIT = 100_000
# Redaction runs first; its typed placeholders (`<ip>`, `<card>`, …) are values, wherever they sit in
# a token (`<ip>:50010`, `blk_-<card>`), so they become the wildcard before tokens are classified.
_REDACTED = re.compile(
    "|".join(sorted({re.escape(r.placeholder) for r in REDACTION_RULES} | {"<unredactable>"}, key=len, reverse=True))
)

_KEEP, _VAR, _UNIT, _DATE = 0, 1, 2, 3
_ASIDE = f"({WILDCARD})"
_ADJACENT = f" {WILDCARD} {WILDCARD} "


class Masked(NamedTuple):
    """A masked message: the token tuple the miner sees, the rule behind each masked value (in
    order) and the words taken out of `key=word` pairs (`user=fztu` -> `fztu`), which tell the
    miner what a value looks like."""

    tokens: tuple[str, ...]
    rules: tuple[str, ...] = ()  # "" for a token no rule masked
    values: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """How many values each rule masked."""
        counts: dict[str, int] = {}
        for rule in self.rules:
            if rule:
                counts[rule] = counts.get(rule, 0) + 1
        return counts


# A classified token: (replacement, rule name or "", kind, key=value word or "", replacement shows digits).
_Entry = tuple[str, str, int, str, bool]


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
        self._tokens: dict[str, _Entry] = {}
        self._token_shapes: dict[str, _Entry] = {}  # token with digits as 1 -> digit-free entry
        # digit shape -> (masked, holes (token index, split index), span fired)
        self._shapes: dict[bytes, tuple[Masked, tuple[tuple[int, int], ...], bool]] = {}

    def mask(self, message: str, *, cache: bool = True) -> Masked:
        """Mask a message into tokens; never raises, and masking its own output changes nothing.

        `cache=False` skips the whole-message cache, for callers that already cache by shape."""
        if "<" in message:
            message = _REDACTED.sub(WILDCARD, message)
        if "|" in message:
            message = message.replace("|", "| ")  # a pipe separates fields: `Step_LSC|onStandStepChanged 3579`
        if not cache:
            rules: list[str] = []
            return self._mask_tokens(self._spans(message, rules).split(), rules)[0]
        # `0x` is the one place a rule names a digit: keep zeros apart in messages that have it
        table = _ZERO_SHAPE if "0x" in message or "0X" in message else _DIGIT_SHAPE
        shape = message.encode("utf-8", "surrogatepass").translate(table)
        hit = self._shapes.get(shape)
        if hit is not None:
            masked, holes, spanned = hit
            if not holes:
                return masked
            parts = (self._spans(message, []) if spanned else message).split()
            filled = list(masked.tokens)
            for index, source in holes:
                filled[index] = parts[source]
            return Masked(tuple(filled), masked.rules, masked.values)
        rules = []
        text = self._spans(message, rules)
        masked, holes = self._mask_tokens(text.split(), rules)
        if holes is None:
            return masked  # a masked value kept some of its digits (`k8s=<*>`): not shared by shape
        if len(self._shapes) >= _CACHE_LIMIT:
            self._shapes.clear()
        self._shapes[shape] = (masked, holes, text is not message)
        return masked

    def tokens(self, message: str) -> tuple[str, ...]:
        return self.mask(message).tokens

    def render(self, message: str) -> str:
        """The masked message as text (tests, explanations)."""
        return " ".join(self.mask(message).tokens)

    def _spans(self, message: str, rules: list[str]) -> str:
        """Apply the multi-word rules, only when a literal guard says one could match."""
        if '="' not in message and "='" not in message and self.span_rules is SPAN_RULES:
            # the id rules need "id" and one of their words; fold what IGNORECASE matches but lower() misses
            lower = message.lower() if message.isascii() else message.translate(_FOLD).lower()
            if "id" not in lower or not any(word in lower for word in _SPAN_WORDS):
                return message

        def replace(match: re.Match[str]) -> str:
            group = match.lastgroup or ""
            rules.append(self._span_names[group])
            return self._span_holders[group]

        return self._span.sub(replace, message)

    def _entry(self, raw: str) -> _Entry:
        """Classify a token not seen before. Tokens that differ only in their digits classify alike
        (the rules see digit classes and counts, and only `0x` names a digit), so a result that
        shows none of the token's digits is shared through the token's digit shape: new ids and
        numbers skip the regexes."""
        shape = raw.translate(_ONE_TO_NINE) if "0x" not in raw and "0X" not in raw and not raw.isalpha() else ""
        entry = self._token_shapes.get(shape) if shape else None
        if entry is None:
            entry = self._classify(raw)
            if shape and not entry[4]:
                shapes = self._token_shapes
                if len(shapes) >= _CACHE_LIMIT:
                    shapes.clear()
                shapes[shape] = entry
        cache = self._tokens
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[raw] = entry
        return entry

    def _mask_tokens(self, parts: list[str], rules: list[str]) -> tuple[Masked, tuple[tuple[int, int], ...] | None]:
        """The masked tokens and the holes to refill on a shape-cache hit (None: not shareable)."""
        get = self._tokens.get
        entries = [get(raw) or self._entry(raw) for raw in parts]
        if not entries:
            return Masked((), tuple(rules)), ()
        words, names, kinds, found, digits = zip(*entries, strict=True)
        if (  # the common case: no word joins a neighbour, no two values touch
            _UNIT not in kinds
            and _DATE not in kinds
            and (words.count(WILDCARD) < 2 or _ADJACENT not in f" {' '.join(words)} ")
        ):
            values = () if found.count("") == len(found) else tuple(v for v in found if v)
            masked = Masked(words, (*rules, *names) if rules else names, values)
            if True not in digits:
                return masked, ()
            if any(shown and kind == _VAR for shown, kind in zip(digits, kinds, strict=True)):
                return masked, None
            return masked, tuple((i, i) for i, shown in enumerate(digits) if shown)
        return self._mask_slow(parts, entries, rules)

    def _mask_slow(
        self, parts: list[str], entries: list[_Entry], rules: list[str]
    ) -> tuple[Masked, tuple[tuple[int, int], ...] | None]:
        values: list[str] = []
        out: list[str] = []
        kinds: list[int] = []
        sources: list[int] = []
        dates = False
        for index, (token, rule, kind, value, _) in enumerate(entries):
            if rule:
                rules.append(rule)
                if value:
                    values.append(value)
            if kind == _UNIT:
                if out and kinds[-1] == _VAR and out[-1].endswith(WILDCARD):
                    out[-1] += token  # `<*>` + `,` or `(<*>` + `)`: the unit joins the value
                    if len(out) > 1 and out[-1] == _ASIDE and out[-2] == WILDCARD:
                        out.pop()  # `1398 bytes (1.36 KB)`: the aside repeats the value
                        kinds.pop()
                        sources.pop()
                    continue
                token, kind = parts[index], _KEEP
            elif kind == _DATE:
                dates = True
            out.append(token)
            kinds.append(kind)
            sources.append(index)
        if dates:
            _absorb_dates(out, kinds)
        tokens: list[str] = []
        holes: list[tuple[int, int]] = []
        uncacheable = False
        previous = ""
        for token, kind, source in zip(out, kinds, sources, strict=True):
            if token == WILDCARD and previous == WILDCARD:
                continue
            if entries[source][4]:
                if kind == _VAR:
                    uncacheable = True
                holes.append((len(tokens), source))  # kept verbatim: refilled on a shape-cache hit
            tokens.append(token)
            previous = token
        return Masked(tuple(tokens), tuple(rules), tuple(values)), None if uncacheable else tuple(holes)

    def _classify(self, raw: str) -> _Entry:
        if raw.isalpha():  # most constant words: no rule but units, dates and literals can match
            lower = raw.lower()
            if lower in UNIT_WORDS:
                return "", "", _UNIT, "", False
            if lower in DATE_WORDS:
                return raw, "", _DATE, "", False
            if lower in _LITERALS:
                return WILDCARD, "literal", _VAR, "", False
            return raw, "", _KEEP, "", False
        if raw.isdigit() and raw.isascii():  # a plain number; 8+ digits read as a hex id, as the rules do
            return WILDCARD, "hex" if len(raw) >= 8 else "number", _VAR, "", False
        entry = self._classify_core(raw)
        return (*entry, _count_digits(entry[0]) > 0)

    def _classify_core(self, raw: str) -> tuple[str, str, int, str]:
        """(replacement, rule name or "", kind, key=value word or "") for one whitespace token."""
        start = len(raw) - len(raw.lstrip(_OPENERS))
        end = max(start, len(raw.rstrip(_CLOSERS)))
        if end < len(raw) and not _PAIRED.isdisjoint(raw[end:]):  # `f(x)`, `a[0]`: keep a closer with its opener
            end = len(raw)
            while end > start and raw[end - 1] in _CLOSERS:
                opener = _PAIRS.get(raw[end - 1])
                if opener is not None and opener in raw[start : end - 1]:
                    break
                end -= 1
        core = raw[start:end]
        prefix, suffix = raw[:start], raw[end:]
        if not core:
            if raw in _EMPTY:
                return f"{raw[0]}{WILDCARD}{raw[-1]}", "empty", _VAR, ""
            return raw, "", _KEEP, ""
        if WILDCARD in core and not _KEY_VALUE.fullmatch(core):
            if _KEYED_WILDCARD.fullmatch(core):
                return raw, "", _VAR, ""  # `objc[<*>]:`, `vCores:<*>`: already masked, keeps its key
            return f"{prefix}{WILDCARD}{suffix}", "", _VAR, ""
        lower = core.lower()
        if lower in UNIT_WORDS and not prefix:
            return suffix, "", _UNIT, ""
        if lower in DATE_WORDS:
            return raw, "", _DATE, ""
        if core[0] in "[" and core[-1] == "]" and core[1:-1].replace("_", "").isupper():
            return raw, "", _KEEP, ""  # a seed placeholder such as [USER_ID]
        if prefix[-1:] in ("'", '"') and suffix[:1] == prefix[-1]:
            return f"{prefix}{WILDCARD}{suffix}", "quoted", _VAR, ""
        kv = _KEY_VALUE.fullmatch(core)
        if kv:
            value = kv.group(2)
            return f"{prefix}{kv.group(1)}{WILDCARD}{suffix}", "key_value", _VAR, value if value.isalpha() else ""
        # Every token rule needs a digit, one of `< : / \\ = -`, two dots or a literal; most words have none.
        match = self._token.fullmatch(core) if _MAY_MASK.search(core) else None
        name = self._token_names[match.lastgroup or ""] if match else ""
        if name in _SPLITTABLE or not match:
            # `onExtend:1514038530000`, `vCores:-25>`: a word key keeps its name, only the value varies.
            # `deny(1)`, `objc[412]:`, `AppWindowToken{81e11e3`: a name with a value inside its brackets.
            kv = _COLON_VALUE.fullmatch(core) or _EMBEDDED.fullmatch(core)
            if kv:
                inner = kv.group(2)
                closers = len(inner) - len(inner.rstrip(_TRAILING))
                return f"{prefix}{kv.group(1)}{WILDCARD}{inner[len(inner) - closers :]}{suffix}", "key_value", _VAR, ""
        if match:
            return f"{prefix}{self._token_holders[match.lastgroup or '']}{suffix}", name, _VAR, ""
        digits = _count_digits(core)
        if digits and digits / len(core) >= _DIGIT_RATIO:
            return f"{prefix}{WILDCARD}{suffix}", "digits", _VAR, ""
        return raw, "", _KEEP, ""


def _count_digits(text: str) -> int:
    """How many characters of `text` are digits (`str.isdigit`)."""
    if text.isascii():
        return len(text) - len(text.translate(_NO_DIGITS))
    return sum(c.isdigit() for c in text)


def _absorb_dates(out: list[str], kinds: list[int]) -> None:
    """Date words touching a value become part of it: `Fri Jun <*>` -> `<*>`."""
    for order in (range(len(out) - 2, -1, -1), range(1, len(out))):
        for i in order:
            if kinds[i] != _DATE:
                continue
            neighbour = i + 1 if order.step < 0 else i - 1
            if kinds[neighbour] == _VAR and out[neighbour] == WILDCARD:
                out[i], kinds[i] = WILDCARD, _VAR
