"""Redaction: the first thing every raw log line goes through.

Log lines are attacker-controlled and full of secrets and PII, so redaction runs before
normalization, storage or any model call, and it fails closed: if it ever cannot finish, the
whole line becomes ``<unredactable>`` rather than passing through in clear.

Covered (placeholder in brackets; counts are reported per rule name):

- PEM private key blocks, multi-line or with escaped ``\\n`` (``<pem>``)
- JWTs (``<jwt>``); ``Authorization:`` header values and bare ``Bearer xxx`` (``<auth>``; the
  scheme word is kept); URL userinfo (``https://<auth>@host``)
- vendor credentials: AWS access key ids (``<aws_key>``) and secret keys after an
  ``aws_secret_access_key``-ish key (``<aws_secret>``); GitHub, GitLab, npm, Slack (tokens and
  webhook paths), Stripe, SendGrid, Google (``AIza``, ``ya29.``, ``GOCSPX-``), Anthropic and
  OpenAI keys (``<api_key>``)
- ``Cookie:``/``Set-Cookie:`` values and session ids (``JSESSIONID=``, ``session_id=`` …)
  (``<session>``)
- values of secret-named keys (``password``, ``passwd``, ``pwd``, ``secret``, ``token``,
  ``api_key``, ``client_secret`` …, also with a prefix such as ``db_password``) in ``k=v``,
  ``k => v``, ``"k": "v"``, ``k:v`` and query-string forms: the key stays, the value becomes
  ``<secret>``. In the prose-like ``key: value`` form (a space after the colon) only a value that
  looks like a credential (a digit, a symbol, mixed case, ``_`` or 16+ chars) is taken, so
  ``invalid token: expired`` keeps its shape words.
- emails (``<email>``), IPv6 and IPv4 (``<ip>``; a 5-part ``1.2.3.4.5`` is a version, not an
  IP), US SSNs (``<ssn>``), payment cards of 13–19 digits with optional spaces/dashes that pass
  Luhn and a card-network prefix (``<card>``), IBANs that pass mod-97 (``<iban>``), and
  *formatted* phone numbers only: a leading ``+``, ``(555)`` or ``555-123-4567`` (``<phone>``).
  A plain digit run such as an order id is never a phone: downstream the seed turns it into
  ``[ID]``, and ``user_id: 42`` must still become ``[USER_ID]``.

All rules are compiled into one regex of named alternatives, scanned left to right. Why order
matters: at any position the earliest match wins, and among rules that match at the *same*
position the first in ``REDACTION_RULES`` wins. So the specific rule precedes the general one:
``aws_secret_access_key=`` must be tried before the generic ``*key=`` rule, ``sk-ant-`` before
``sk-``, ``Cookie:``/session keys before ``*token=``, an SSN before a phone. A rule whose
validator rejects the text (a Luhn-invalid card) leaves it unchanged; the scan continues after it.

Rule conventions: a group named ``value`` or ``value_*`` marks the only part replaced (the rest
of the match, e.g. the key, is kept); a value that already is a placeholder, or only placeholders
and punctuation (``password: <pem>_``, left by a rule that took part of it), is left alone, which
makes redaction idempotent. Patterns start at the beginning of a run (a look-behind) so a huge
line costs linear time. Speed: each rule has cheap triggers (``TRIGGERS``); a line that hits none
skips the regex (most clean lines, ~3 µs), and a line that hits some is scanned only with the
rules they name, in the same priority order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from errorsift.signatures.base import Rule

__all__ = ["REDACTION_RULES", "TRIGGERS", "VALIDATORS", "Redactor", "redact"]

# A validator sees the text of the part to replace and returns the spans (relative to it) that
# are really sensitive; none leaves the text as it is.
Validator = Callable[[str], "list[tuple[int, int]]"]

UNREDACTABLE = "<unredactable>"

# --- building blocks -------------------------------------------------------------------------

_KV_STOP = r"""\s"'`&,;)\]}\\"""  # what ends an unquoted value
_BARE_VALUE = rf"[^{_KV_STOP}]+"
# In the prose-like ``key: value`` form only values that look like credentials are taken.
_SECRETISH = rf"(?=[^{_KV_STOP}]*(?:\d|[!#$%*+/=@^|~<>_]|(?-i:[a-z][A-Z]))|[^{_KV_STOP}]{{16}})"
# The value groups behind ``_SECRETISH``: taken only when the value looks like a credential.
_GATED_GROUPS = frozenset({"value_s", "value_bare"})


def _kv(keys: str) -> str:
    """Pattern for ``key <sep> value`` where only the value (group ``value_*``) is replaced."""
    return (
        rf"""(?:{keys})\\?["']?"""
        r"""(?:[ \t]*(?:=>|[=:])[ \t]*(?:"(?P<value_dq>(?:[^"\\\r\n]|\\.)+)|'(?P<value_sq>(?:[^'\\\r\n]|\\.)+)"""
        r"""|\\"(?P<value_edq>(?:[^"\\\r\n]|\\[^"\r\n])+)|\\'(?P<value_esq>(?:[^'\\\r\n]|\\[^'\r\n])+))"""
        rf"""|[ \t]*=>?[ \t]*(?P<value_b>{_BARE_VALUE})"""  # k=v, k = v, k => v
        rf"""|:(?P<value_c>{_BARE_VALUE})"""  # k:v (structured, no space)
        rf"""|[ \t]*:[ \t]+{_SECRETISH}(?P<value_s>{_BARE_VALUE}))"""  # k: v (prose-like)
    )


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
_H = r"[0-9A-Fa-f]{1,4}"
_IPV6 = (
    r"(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)(?=[0-9A-Fa-f:.]*\d)(?:"
    rf"(?:(?:{_H}:){{6}}|(?:{_H}:){{1,5}}:|::(?:{_H}:){{0,5}}){_IPV4}"
    rf"|(?:{_H}:){{7}}{_H}"
    rf"|(?:{_H}:){{1,6}}:{_H}"
    rf"|(?:{_H}:){{1,5}}(?::{_H}){{1,2}}"
    rf"|(?:{_H}:){{1,4}}(?::{_H}){{1,3}}"
    rf"|(?:{_H}:){{1,3}}(?::{_H}){{1,4}}"
    rf"|(?:{_H}:){{1,2}}(?::{_H}){{1,5}}"
    rf"|{_H}:(?::{_H}){{1,6}}"
    rf"|:(?::{_H}){{1,7}}"
    rf"|(?:{_H}:){{1,7}}:"
    r")(?![\w:]|\.\d)"
)

_AUTH_SCHEMES = r"Bearer|Basic|Token|Bot|ApiKey|SSWS|GenieKey|Negotiate|NTLM|AWS4-HMAC-SHA256"
_TOKEN_CHARS = r"[A-Za-z0-9._~+/-]"

# --- the rules, in priority order (see the module docstring) ---------------------------------

REDACTION_RULES: tuple[Rule, ...] = (
    Rule(
        "pem",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[A-Za-z0-9+/=\s:,.]|\\[rnt]|-(?!----END))*+"
        r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?",
        "<pem>",
    ),
    Rule(
        "jwt",
        r"(?<![\w-])eyJ[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]*+(?:\.[A-Za-z0-9_-]++){0,2}",
        "<jwt>",
    ),
    Rule(
        "auth_header",
        r"""(?<![\w-])(?:proxy-)?authorization\\?["']?[ \t]*[:=][ \t]*\\?["']?"""
        rf"(?:(?:(?:{_AUTH_SCHEMES})[ \t]+)(?P<value>[^\s\"'\\,;]+)|Digest[ \t]+(?P<value_digest>[^\r\n'\\]+)"
        rf"|{_SECRETISH}(?P<value_bare>[^\s\"'\\,;]+))",
        "<auth>",
        re.IGNORECASE,
    ),
    Rule(
        "bearer",
        r"(?<![\w-])(?:[Bb]earer|Basic)[ \t]+(?P<value>"
        rf"(?={_TOKEN_CHARS}*(?:\d|[a-z][A-Z]|=)){_TOKEN_CHARS}{{8,}}=*|{_TOKEN_CHARS}{{20,}}=*)",
        "<auth>",
    ),
    Rule(
        "url_userinfo",
        r"""(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}://(?P<value>[^\s/?#"'<>\\]+)@""",
        "<auth>",
    ),
    Rule(
        "slack_webhook",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<value>[A-Za-z0-9_/-]+)",
        "<api_key>",
    ),
    Rule(
        "aws_secret",
        _kv(r"(?:aws_?secret(?:_?access)?_?key|secret_?access_?key)"),
        "<aws_secret>",
        re.IGNORECASE,
    ),
    Rule(
        "cookie",
        r"""(?<![\w-])(?:set-)?cookie\\?["']?[ \t]*[:=][ \t]*\\?["']?"""
        r"""(?=[^\r\n"'\\;]*=)(?P<value>[^\r\n"'\\]+)""",
        "<session>",
        re.IGNORECASE,
    ),
    Rule(
        "session",
        _kv(r"(?:jsessionid|phpsessid|sess(?:ion)?[_.-]?id|session[_-]?(?:token|key)|session|[._]sid)"),
        "<session>",
        re.IGNORECASE,
    ),
    Rule(
        "secret_value",
        _kv(
            r"(?:passw(?:or)?d|passphrase|pwd|secret|token|credentials?|signature"
            r"|api[_-]?key|(?:access|secret|private|signing|encryption|auth|master|client)[_-]?key)"
        ),
        "<secret>",
        re.IGNORECASE,
    ),
    Rule(
        "aws_key",
        r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{16}(?![A-Za-z0-9])",
        "<aws_key>",
        re.ASCII,
    ),
    Rule(
        "github",
        r"(?<![\w-])(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{30,255})(?!\w)",
        "<api_key>",
    ),
    Rule("gitlab", r"(?<![\w-])glpat-[A-Za-z0-9_-]{20,}", "<api_key>"),
    Rule("npm", r"(?<![\w-])npm_[A-Za-z0-9]{36}(?!\w)", "<api_key>"),
    Rule("slack_token", r"(?<![\w-])(?:xox[abposrce]|xapp)-[A-Za-z0-9-]{10,}", "<api_key>"),
    Rule("stripe", r"(?<![\w-])(?:(?:sk|rk|pk)_(?:live|test)|whsec)_[A-Za-z0-9]{10,}", "<api_key>"),
    Rule("sendgrid", r"(?<![\w-])SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}", "<api_key>"),
    Rule(
        "google",
        r"(?<![\w-])(?:AIza[0-9A-Za-z_-]{35}(?![\w-])|ya29\.[0-9A-Za-z_-]{20,}|GOCSPX-[0-9A-Za-z_-]{20,})",
        "<api_key>",
    ),
    Rule("anthropic", r"(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,}", "<api_key>"),
    Rule(
        "openai",
        r"(?<![\w-])sk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}",
        "<api_key>",
    ),
    Rule("email", r"(?<![\w.%+-])[\w.%+-]+@(?:[\w-]+\.)+[^\W\d_]{2,}(?![\w-])", "<email>"),
    Rule("ipv6", _IPV6, "<ip>", re.ASCII),
    Rule("ipv4", rf"(?<![\w.]){_IPV4}(?!\w|\.\d)", "<ip>", re.ASCII),
    Rule(
        "ssn",
        r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])",
        "<ssn>",
        re.ASCII,
    ),
    Rule(
        "card",
        r"(?<![\d.])(?:\d{13,19}|\d{4}(?:[ -]\d{3,6}(?!\d)){2,})(?!\d|\.\d)",
        "<card>",
        re.ASCII,
    ),
    Rule(
        "iban",
        r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])",
        "<iban>",
        re.ASCII,
    ),
    Rule(
        "phone",
        r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?)?(?:[ .-]?\d{1,5}+){1,5}+(?!\d)"
        r"|(?<![\w(])\(\d{3}\)[ .-]?\d{3}[ .-]?\d{4}(?!\d)"
        r"|(?<![\w.-])\d{3}[.-]\d{3}[.-]\d{4}(?![\w-]|\.\d)",
        "<phone>",
        re.ASCII,
    ),
)

# Cheap necessary conditions, one entry per built-in rule: a line that hits none of a rule's
# triggers cannot match that rule. A string is a substring of the lower-cased line; a pair
# ``(first, rest)`` is the regex ``[first]rest`` on the line as is (``first`` is a character-class
# body, so all shapes share one scan). Only the rules whose triggers hit are compiled into the
# scan of a line, and a line with no hit at all skips the scan.
TRIGGERS: Mapping[str, tuple[str | tuple[str, str], ...]] = {
    "pem": ("-----begin",),
    "jwt": ("eyj",),
    "auth_header": ("authorization",),
    "bearer": ("bearer", "basic"),
    "url_userinfo": ("@",),
    "slack_webhook": ("hooks.slack.com",),
    "aws_secret": ("secret",),
    "cookie": ("cookie",),
    "session": ("sess", ".sid", "_sid"),
    "secret_value": (
        *("passw", "passphrase", "pwd", "secret", "token", "credential", "signature", "_key", "-key"),
        *(f"{w}key" for w in ("api", "access", "secret", "private", "signing", "encryption", "auth")),
        *(f"{w}key" for w in ("master", "client")),
    ),
    "aws_key": (("A", "[BCGIKNPRS][A-Z]{2}[A-Z0-9]{16}"),),
    "github": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab": ("glpat-",),
    "npm": ("npm_",),
    "slack_token": ("xox", "xapp-"),
    "stripe": ("_live_", "_test_", "whsec_"),
    "sendgrid": ("sg.",),
    "google": ("aiza", "ya29.", "gocspx-"),
    "anthropic": ("sk-",),
    "openai": ("sk-",),
    "email": ("@",),
    "ipv6": ((":", ":"), (":", "(?:[0-9A-Fa-f]{1,4}:){5}[0-9A-Fa-f]")),
    "ipv4": (("0-9", r"\.\d{1,3}\.\d{1,3}\.\d"),),
    "ssn": (("0-9", r"\d\d-\d\d-\d{4}"),),
    "card": (("0-9", r"\d{12}"), ("0-9", r"\d{3}[ -]\d{3}")),
    "iban": (("0-9", r"(?<=[A-Z]{2}[0-9])\d ?[A-Z0-9]{4}"),),
    "phone": (("+", r"\d"), ("(", r"\d{3}\)"), ("0-9", r"\d\d[.-]\d{3}[.-]\d{4}")),
}

# --- validators --------------------------------------------------------------------------------

_DIGIT_RUN = re.compile(r"\d+")
_MAX_CARD_GROUPS = 7  # 19 digits in groups of 3 or more (a long run of groups stays linear)


_LUHN_DOUBLE = str.maketrans("0123456789", "0246813579")  # 2d, minus 9 above 9


def _luhn_ok(digits: str) -> bool:
    if not digits.isascii():
        return _luhn_slow(digits)
    backwards = digits[::-1]
    return (sum(map(int, backwards[0::2])) + sum(map(int, backwards[1::2].translate(_LUHN_DOUBLE)))) % 10 == 0


def _luhn_slow(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_ok(digits: str) -> bool:
    """13–19 digits, a card-network prefix (so epoch-ms and snowflake ids starting with 1 are
    not cards), and the Luhn checksum."""
    if not 13 <= len(digits) <= 19:
        return False
    first = digits[0]
    if first == "3":
        network = digits[1] in "0456789"
    elif first == "2":
        network = 2221 <= int(digits[:4]) <= 2720
    else:
        network = first in "456"
    return network and _luhn_ok(digits)


def _validate_card(text: str) -> list[tuple[int, int]]:
    """Leftmost-longest runs of whole digit groups that are cards: ``2024 4111 1111 1111 1111``
    (a year before a card) redacts only the card, two cards in a row redact both."""
    groups = [m.span() for m in _DIGIT_RUN.finditer(text)]
    if len(groups) == 1:  # the common case: one digit run
        return [groups[0]] if _card_ok(text[groups[0][0] : groups[0][1]]) else []
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        for j in range(min(len(groups), i + _MAX_CARD_GROUPS) - 1, i - 1, -1):
            if _card_ok("".join(text[s:e] for s, e in groups[i : j + 1])):
                spans.append((groups[i][0], groups[j][1]))
                i = j
                break
        i += 1
    return spans


def _iban_ok(compact: str) -> bool:
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _validate_iban(text: str) -> list[tuple[int, int]]:
    """mod-97; also tries shorter prefixes at spaces, since the pattern may have eaten an
    upper-case word after a spaced IBAN (``DE89 3704 … 00 FAILED``)."""
    ends = [len(text), *(i for i in range(len(text) - 1, 0, -1) if text[i] == " ")]
    for end in ends:
        if _iban_ok(text[:end].replace(" ", "")):
            return [(0, end)]
    return []


def _validate_phone(text: str) -> list[tuple[int, int]]:
    """A phone number has 7–15 digits (E.164); ``+30000`` is an offset, not a phone."""
    count = sum(ch.isdigit() for ch in text)
    return [(0, len(text))] if 7 <= count <= 15 else []


VALIDATORS: Mapping[str, Validator] = {
    "card": _validate_card,
    "iban": _validate_iban,
    "phone": _validate_phone,
}

# --- the redactor ----------------------------------------------------------------------------

_INLINE_FLAGS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"), (re.ASCII, "a"))
_GROUP_DEF = re.compile(r"(?<!\\)\(\?P<(\w+)>")
_GROUP_REF = re.compile(r"(?<!\\)\(\?P=(\w+)\)")
_NUMBERED_BACKREF = re.compile(r"(?<!\\)(?:\\\\)*\\[1-9]")


# Rarest first in error lines: a literal trigger is searched by its rarest character, so the
# scan of a clean line stops at few positions.
_RARITY = "@zqjy_xwvghkpfbmlu/:sdit.ac-nroe0123456789"
# Characters that IGNORECASE matches to an ASCII letter but ``str.lower`` does not map to it.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_SUBSET_CACHE_SIZE = 512


@dataclass(frozen=True, slots=True)
class _Compiled:
    name: str
    placeholder: str
    value_groups: tuple[str, ...]
    gated_groups: frozenset[str]  # those of value_groups taken only when credential-like
    validator: Validator | None


def _embed(index: int, rule: Rule) -> tuple[str, tuple[str, ...], frozenset[str]]:
    """One rule as a uniquely named alternative; its own group names get the rule's prefix."""
    if _NUMBERED_BACKREF.search(rule.pattern):
        raise ValueError(f"redaction rule {rule.name!r}: use named groups, not numbered backreferences")
    names = re.compile(rule.pattern, rule.flags).groupindex  # a bad rule fails here, naming itself
    prefix = f"r{index}_"
    body = _GROUP_DEF.sub(lambda m: f"(?P<{prefix}{m.group(1)}>", rule.pattern)
    body = _GROUP_REF.sub(lambda m: f"(?P={prefix}{m.group(1)})", body)
    flags = "".join(letter for flag, letter in _INLINE_FLAGS if rule.flags & flag)
    if flags:
        body = f"(?{flags}:{body})"
    values = tuple(prefix + n for n in names if n == "value" or n.startswith("value_"))
    gated = frozenset(prefix + n for n in names if n in _GATED_GROUPS)
    return f"(?P<r{index}>{body})", values, gated


def _literal_scan(literals: Iterable[str]) -> re.Pattern[str]:
    """One regex that finds any literal, entered only at each literal's rarest character."""
    by_anchor: dict[str, list[str]] = {}
    for lit in sorted(set(literals)):
        i = min(range(len(lit)), key=lambda k: (_RARITY.find(lit[k]) % (len(_RARITY) + 1), k))
        head, tail = re.escape(lit[: i + 1]), re.escape(lit[i + 1 :])
        by_anchor.setdefault(lit[i], []).append(f"(?<={head}){tail}" if i else tail)
    return re.compile("|".join(f"{re.escape(ch)}(?:{'|'.join(alts)})" for ch, alts in by_anchor.items()))


def _shape_scan(shapes: Iterable[tuple[str, str]]) -> re.Pattern[str]:
    """One regex for all ``(first, rest)`` shapes: a single character class, then dispatch."""
    by_first: dict[str, list[str]] = {}
    for first, rest in shapes:
        by_first.setdefault(first, []).append(rest)
    # Digits are the most frequent entry character: their branch is tried first.
    by_first = dict(sorted(by_first.items(), key=lambda item: item[0] != "0-9"))
    union = "".join(by_first)
    branches = "|".join(f"(?<=[{first}])(?:{'|'.join(rests)})" for first, rests in by_first.items())
    return re.compile(f"[{union}](?:{branches})", re.ASCII)


@dataclass(frozen=True, slots=True)
class _Tables:
    """Everything a Redactor compiles from its rules; shared by every Redactor of the same rules."""

    rules: tuple[Rule, ...]
    bodies: tuple[str, ...]
    specs: tuple[_Compiled, ...]
    placeholders: frozenset[str]
    placeholder_scan: re.Pattern[str]  # any placeholder, longest first
    extra: re.Pattern[str] | None
    literal_rules: tuple[tuple[str, int], ...]  # per built-in rule index: its literal triggers
    shape_rules: tuple[tuple[re.Pattern[str], int], ...]  # ... and its compiled shape triggers
    literal_scan: re.Pattern[str]
    longest_literal: int
    shape_scan: re.Pattern[str]
    subsets: dict[frozenset[int], re.Pattern[str]]  # combined regex per active-rule set (bounded)


@functools.lru_cache(maxsize=16)
def _tables(extra: tuple[Rule, ...]) -> _Tables:
    rules = (*extra, *REDACTION_RULES)
    bodies: list[str] = []
    specs: list[_Compiled] = []
    for i, rule in enumerate(rules):
        body, values, gated = _embed(i, rule)
        bodies.append(body)
        validator = VALIDATORS.get(rule.name) if i >= len(extra) else None  # built-ins only
        specs.append(_Compiled(rule.name, rule.placeholder, values, gated, validator))
    literal_rules: list[tuple[str, int]] = []
    shape_rules: list[tuple[re.Pattern[str], int]] = []
    for i, rule in enumerate(REDACTION_RULES, start=len(extra)):
        for trigger in TRIGGERS[rule.name]:
            if isinstance(trigger, str):
                literal_rules.append((trigger, i))
            else:
                shape_rules.append((re.compile(f"[{trigger[0]}]{trigger[1]}", re.ASCII), i))
    return _Tables(
        rules=rules,
        bodies=tuple(bodies),
        specs=tuple(specs),
        placeholders=frozenset(r.placeholder for r in rules),
        placeholder_scan=re.compile(
            "|".join(re.escape(p) for p in sorted({r.placeholder for r in rules}, key=len, reverse=True))
        ),
        extra=re.compile("|".join(bodies[: len(extra)])) if extra else None,
        literal_rules=tuple(literal_rules),
        shape_rules=tuple(shape_rules),
        literal_scan=_literal_scan(t for t, _ in literal_rules),
        longest_literal=max(len(t) for t, _ in literal_rules),
        shape_scan=_shape_scan(t for r in REDACTION_RULES for t in TRIGGERS[r.name] if not isinstance(t, str)),
        subsets={},
    )


class Redactor:
    """Replaces secrets and PII with typed placeholders; compiled once, safe on any text.

    ``extra_rules`` (user configuration) are tried before the built-ins at the same position, so
    a user can claim a format more precisely; they have no triggers, so a line is scanned with
    them whenever one of them matches it. ``prefilter=False`` skips the trigger pre-check (every
    line gets the full scan): the same output, slower; tests use it as the reference.
    """

    def __init__(self, extra_rules: Iterable[Rule] = (), *, prefilter: bool = True) -> None:
        extra = tuple(extra_rules)
        self.prefilter = prefilter  # False scans every line with every rule: the reference for tests
        tables = _tables(extra)  # compiled once per rule set: a Redactor per run costs ~1 µs
        self.rules: tuple[Rule, ...] = tables.rules
        self._n_extra = len(extra)
        self._bodies = tables.bodies
        self._specs = tables.specs
        self._placeholders = tables.placeholders
        self._placeholder_scan = tables.placeholder_scan
        self._extra = tables.extra
        self._literal_rules = tables.literal_rules
        self._shape_rules = tables.shape_rules
        self._literal_scan = tables.literal_scan
        self._longest_literal = tables.longest_literal
        self._shape_scan = tables.shape_scan
        self._subsets = tables.subsets

    def _active_rules(self, text: str) -> frozenset[int]:
        """Indexes of the rules that may match ``text``; empty for most clean lines (the cheap path)."""
        if not self.prefilter:
            return frozenset(range(len(self.rules)))
        folded = text.lower() if text.isascii() else text.translate(_FOLD).lower()
        literal_hit = self._literal_scan.search(folded)
        shape_hit = self._shape_scan.search(text)
        extra_hit = self._extra is not None and self._extra.search(text) is not None
        if literal_hit is None and shape_hit is None and not extra_hit:
            return frozenset()
        active: set[int] = set(range(self._n_extra)) if extra_hit else set()
        if literal_hit is not None:
            start = max(0, literal_hit.start() - self._longest_literal)  # the hit is at its anchor
            active.update(i for literal, i in self._literal_rules if folded.find(literal, start) >= 0)
        if shape_hit is not None:
            start = shape_hit.start()
            active.update(i for regex, i in self._shape_rules if regex.search(text, start))
        return frozenset(active)

    def _regex_for(self, active: frozenset[int]) -> re.Pattern[str]:
        """The combined regex of ``active`` rules in priority order, cached (bounded)."""
        regex = self._subsets.get(active)
        if regex is None:
            regex = re.compile("|".join(self._bodies[i] for i in sorted(active)))
            if len(self._subsets) >= _SUBSET_CACHE_SIZE:
                self._subsets.clear()
            self._subsets[active] = regex
        return regex

    def _already_redacted(self, value: str, gated: bool) -> bool:
        """True when a key's value holding placeholders was redacted already, so taking it again
        would break idempotency: it is only placeholders and punctuation (``password: <pem>_``),
        or it is a value taken only when credential-like (``gated``: the prose ``key: value``).

        Why any placeholder in a gated value: the key's rule sees the original text before any
        other rule, so a placeholder inside a gated value means that rule declined the value and
        another rule (a PEM block spans words) replaced part of it; the placeholder's brackets
        and what the block swallowed must not make the value look like a credential next time
        (``password: -----BEGIN PRIVATE KEY-----_k`` -> ``password: <pem>_k``, left as it is).
        """
        if gated:
            return self._placeholder_scan.search(value) is not None
        rest, found = self._placeholder_scan.subn("", value)
        return found > 0 and not any(ch.isalnum() for ch in rest)

    def redact_with_counts(self, text: str) -> tuple[str, dict[str, int]]:
        """The redacted text and how many values each rule replaced (summed in run reports).

        Idempotent by construction: a placeholder can complete a new match for another rule
        (`<api_key>+0000000` then looks like a phone number), so a line that had redactions is
        passed again until nothing changes; one that still changes after a few passes fails closed.
        """
        out, counts = self._redact_once(text)
        if not counts or out == UNREDACTABLE:
            return out, counts
        for _ in range(_MAX_PASSES):
            again, more = self._redact_once(out)
            if not more:
                return out, counts
            for name, n in more.items():
                counts[name] = counts.get(name, 0) + n
            out = again
        return UNREDACTABLE, {"unredactable": 1}

    def _redact_once(self, text: str) -> tuple[str, dict[str, int]]:
        counts: dict[str, int] = {}
        try:
            active = self._active_rules(text)
            if not active:
                return text, counts
            specs, placeholders = self._specs, self._placeholders
            already_redacted = self._already_redacted

            def replace(m: re.Match[str]) -> str:
                name = m.lastgroup or ""
                spec = specs[int(name[1:])]
                start, end = m.span(name)
                vstart, vend = start, end
                taken = ""
                for group in spec.value_groups:
                    s, e = m.span(group)
                    if s >= 0:
                        vstart, vend, taken = s, e, group
                        break
                value = text[vstart:vend]
                if value in placeholders or (taken and already_redacted(value, taken in spec.gated_groups)):
                    return m.group(name)
                if spec.validator is None:
                    counts[spec.name] = counts.get(spec.name, 0) + 1
                    return text[start:vstart] + spec.placeholder + text[vend:end]
                spans = spec.validator(value)
                if spans:
                    counts[spec.name] = counts.get(spec.name, 0) + len(spans)
                pieces: list[str] = []
                last = start
                for s, e in spans:
                    pieces += (text[last : vstart + s], spec.placeholder)
                    last = vstart + e
                return "".join(pieces) + text[last:end]

            return self._regex_for(active).sub(replace, text), counts
        except Exception:  # fail closed: never let an unredacted line through
            return UNREDACTABLE, {"unredactable": 1}

    def redact(self, text: str) -> str:
        """The redacted text."""
        return self.redact_with_counts(text)[0]


_MAX_PASSES = 3
_DEFAULT: Redactor | None = None


def redact(text: str) -> str:
    """Redact with the built-in rules (a module-level Redactor, compiled on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Redactor()
    return _DEFAULT.redact(text)
