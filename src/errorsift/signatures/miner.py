"""An online template miner: Drain's cheap routing plus Brain's per-position distinct-value rule.

Why not plain Drain: one similarity threshold cannot tell `... HTTPS` from `... SOCKS5` (two
constants of two events) and `user alice` from `user bob` (one variable). The signal that can is how
many distinct values a position takes among lines that otherwise look alike (notes §2, §6).

How it works, per masked token tuple (a "shape"):

1. An exact-hash cache maps a shape seen before straight to its template (most lines stop here).
2. Otherwise the shape joins the most similar *family* of the same length (Drain-like similarity
   over the line's plain words; masked slots and identifier-like names do not vote), or opens a
   new family.
3. A family counts, per position, the distinct values its shapes carry. A position is declared
   variable when it has `variable_threshold` distinct values, or at least two and its words are
   identifier-like names (`root14_local`, `com.apple.x`, `CBS_E_INVALID`: a format string rarely
   switches between such names) or known values. The family's *templates* are its shapes with the
   variable positions replaced by `<*>`: positions with fewer plain-word values stay constant, so
   two events that differ in one keyword (`HTTPS` / `SOCKS5`) stay apart.
   Known values are a vocabulary learned as lines arrive: the words of `key=word` pairs and the
   words seen at positions that turned variable. `user=fztu` in one event tells that `Failed
   password for fztu` / `... for root` vary; all of a position's words must be known, or all but
   one when some are. A word that becomes known re-checks the positions holding it, so the result
   does not depend on which line came first.
4. A template gets a key at birth (never derived from its later text). When a position turns
   variable, templates that become equal merge: the older key survives and the younger one becomes
   an alias, so callers can re-point what they counted.

The learned state is plain JSON-able data (`export_state` / `from_state`); the cache is rebuilt on
demand because a seen shape always projects back onto its stored template.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import eq, itemgetter
from typing import Any

from errorsift.signatures.base import stable_key
from errorsift.signatures.masking import WILDCARD

STATE_VERSION = 1
_CACHE_LIMIT = 200_000


@dataclass(slots=True)
class Template:
    """One signature: a key assigned at birth and the family shape it currently stands for."""

    id: int
    key: str
    family: int
    tokens: tuple[str, ...]
    count: int = 0
    masks: dict[str, int] = field(default_factory=dict)
    text: str = ""  # rendered template, kept in step with `tokens`

    def __post_init__(self) -> None:
        self.text = render_tokens(self.tokens)


@dataclass(slots=True)
class Family:
    """Same-length shapes that look alike; its positions vote on what is variable."""

    id: int
    tokens: list[str]  # Drain-style generalised shape, used only for routing
    variable: set[int] = field(default_factory=set)
    values: dict[int, list[str]] = field(default_factory=dict)  # position -> distinct values (capped)
    templates: dict[tuple[str, ...], int] = field(default_factory=dict)  # projection -> template id

    def project(self, tokens: tuple[str, ...]) -> tuple[str, ...]:
        if not self.variable:
            return tokens
        return tuple(WILDCARD if i in self.variable else t for i, t in enumerate(tokens))


@dataclass(frozen=True, slots=True)
class MinerConfig:
    """One configuration for every log source (no per-data-set tuning)."""

    similarity: float = 0.6  # share of the line's constant words that must agree to join a family
    variable_threshold: int = 4  # distinct values at which a position is a variable
    min_constants: int = 1  # a template always keeps at least this many constant tokens
    max_templates: int = 50_000  # beyond this, new shapes are signed but not learned

    def as_dict(self) -> dict[str, Any]:
        return {
            "similarity": self.similarity,
            "variable_threshold": self.variable_threshold,
            "min_constants": self.min_constants,
            "max_templates": self.max_templates,
        }


@dataclass(frozen=True, slots=True)
class Match:
    """The miner's answer for one shape: the template id (before alias resolution)."""

    template_id: int
    learned: bool  # False when the template cap stopped learning


class TemplateMiner:
    """Online, deterministic for the same input order, state as plain dicts (no pickle)."""

    def __init__(self, config: MinerConfig | None = None, namespace: str = "mined-v1") -> None:
        self.config = config or MinerConfig()
        self.namespace = namespace
        self.templates: dict[int, Template] = {}
        self.families: dict[int, Family] = {}
        self.by_length: dict[int, list[int]] = {}
        self.alias: dict[int, int] = {}  # merged template id -> surviving template id
        self.keys: dict[str, int] = {}  # key -> template id (keys stay unique)
        # Words seen as values (`user=fztu`, or at a position that turned variable): a position whose
        # few values are all such words is a variable too (`Failed password for fztu`).
        self.vocabulary: set[str] = set()
        self._holders: dict[str, list[tuple[int, int]]] = {}  # word -> (family, position) still constant
        # word -> families where it is one of several values of a still-constant position
        self.alternatives: dict[str, list[int]] = {}
        self._cache: dict[tuple[str, ...], int] = {}
        self._names: dict[str, bool] = {}  # token -> is_identifier(token)
        self._next_template = 0
        self._next_family = 0

    # -- signing -------------------------------------------------------------------------------

    def add(
        self,
        tokens: tuple[str, ...],
        masks: dict[str, int] | None = None,
        values: tuple[str, ...] = (),
        rules: tuple[str, ...] = (),
    ) -> Template:
        """Learn from one masked token tuple and return its (alias-resolved) template.

        `masks` counts the values per mask rule (or give `rules`, the rule of each masked value or
        "", counted only when a template is born); `values` are words the masker took out as values
        (`user=fztu` -> `fztu`).
        """
        if values:
            self.learn_values(values)
        tid = self._cache.get(tokens)
        if tid is None:
            if masks is None:
                masks = {}
                for rule in rules:
                    if rule:
                        masks[rule] = masks.get(rule, 0) + 1
            tid = self._route(tokens, masks)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[tokens] = tid
        template = self.templates[self.resolve_id(tid)]
        template.count += 1
        return template

    def resolve_id(self, tid: int) -> int:
        """Follow merges to the surviving template id (with path compression)."""
        alias = self.alias
        root = tid
        while root in alias:
            root = alias[root]
        while tid in alias and alias[tid] != root:
            alias[tid], tid = root, alias[tid]
        return root

    def _route(self, tokens: tuple[str, ...], masks: dict[str, int]) -> int:
        families = self.families
        candidates = [families[fid] for fid in self.by_length.get(len(tokens), ())]
        for family in candidates:  # a known shape projects back onto its template: restart-safe
            tid = family.templates.get(family.project(tokens) if family.variable else tokens)
            if tid is not None:
                return tid
        if len(self.templates) >= self.config.max_templates:
            return self._overflow(tokens)
        best: Family | None = None
        best_score = -1.0
        if candidates:
            names = self._names
            if len(names) >= _CACHE_LIMIT:
                names.clear()
            similarity = _similarity(tokens, names)
            for family in candidates:
                score = similarity(family.tokens)
                if score > best_score:
                    best, best_score = family, score
        if best is None or best_score < self.config.similarity:
            family = self._new_family(tokens)  # its first shape: every position holds one value
            return self._new_template(family, tokens, masks)
        return self._join(best, tokens, masks)

    def _new_family(self, tokens: tuple[str, ...]) -> Family:
        family = Family(self._next_family, list(tokens), values={i: [t] for i, t in enumerate(tokens)})
        self._next_family += 1
        self.families[family.id] = family
        self.by_length.setdefault(len(tokens), []).append(family.id)
        return family

    def _join(self, family: Family, tokens: tuple[str, ...], masks: dict[str, int]) -> int:
        changed = False
        shape = family.tokens
        variable = family.variable
        values = family.values
        vocabulary = self.vocabulary
        learned: list[str] = []
        for i, token in enumerate(tokens):
            if shape[i] != token:
                shape[i] = WILDCARD
            if i in variable:
                if token not in vocabulary and WILDCARD not in token:
                    learned.append(token)
                continue
            seen = values.get(i)
            if seen is None:
                values[i] = [token]
                continue
            if token in seen:
                continue
            seen.append(token)
            if self._varies(seen) and self._may_vary(family, i):
                learned += self._make_variable(family, i)
                changed = True
            elif len(vocabulary) < _VOCABULARY_LIMIT:
                # a position with a few values turns variable once they are known values: watch them
                holders = self._holders
                for value in seen[-1:] if len(seen) > 2 else seen:
                    if WILDCARD not in value:
                        holders.setdefault(value, []).append((family.id, i))
                        learned += self._alternative(value, family.id)
        if changed:
            self._reproject(family)
        if learned:
            self.learn_values(learned)
        projection = family.project(tokens)
        tid = family.templates.get(projection)
        if tid is None:
            tid = self._new_template(family, projection, masks)
        return tid

    def learn_values(self, values: tuple[str, ...] | list[str]) -> None:
        """Add value words to the vocabulary; positions that now hold only such words turn variable
        (and teach their words in turn: a work list, not recursion)."""
        vocabulary = self.vocabulary
        pending = list(values)
        while pending:
            value = pending.pop()
            if value in vocabulary or not _WORD_VALUE.fullmatch(value) or len(vocabulary) >= _VOCABULARY_LIMIT:
                continue
            vocabulary.add(value)
            for fid, position in self._holders.pop(value, ()):
                family = self.families.get(fid)
                if family is None or position in family.variable or position not in family.values:
                    continue
                if self._varies(family.values[position]) and self._may_vary(family, position):
                    pending += self._make_variable(family, position)
                    self._reproject(family)

    def _alternative(self, word: str, family: int) -> list[str]:
        """Count the families where `word` is one of a position's alternatives; in enough of them it
        is a value (user names recur across events; an event's own keywords do not)."""
        seen = self.alternatives.setdefault(word, [])
        if family not in seen and len(seen) < _ALTERNATIVE_FAMILIES:
            seen.append(family)
            if len(seen) == _ALTERNATIVE_FAMILIES:
                return [word]
        return []

    def _make_variable(self, family: Family, position: int) -> list[str]:
        """Declare a position variable; returns its words when it had enough to teach them as values."""
        family.variable.add(position)
        seen = family.values.pop(position)
        if len(seen) >= self.config.variable_threshold:
            return [v for v in seen if WILDCARD not in v]
        return []

    def _varies(self, seen: list[str]) -> bool:
        """Enough distinct values to call a position variable.

        Plain words need `variable_threshold` values (`HTTPS` / `SOCKS5` are two events). Two are
        enough when every word is an identifier-like name (`root14_local`, `com.apple.x`), since a
        format string rarely switches between such names, or a known value (see `learn_values`):
        all of them, or all but one when some are (`root`, `fztu` known; `nobody` not).
        """
        if len(seen) >= self.config.variable_threshold:
            return True
        words = [v for v in seen if WILDCARD not in v]
        if len(seen) < 2 or not words:
            return False
        vocabulary = self.vocabulary
        names = self._names
        unknown = 0
        for v in words:
            name = names.get(v)
            if name is None:
                name = names[v] = is_identifier(v)
            unknown += not (name or v in vocabulary)
        return unknown == 0 or (unknown == 1 and len(words) >= 2 and len(seen) >= 2)

    def _may_vary(self, family: Family, position: int) -> bool:
        """A template must keep some constant words: one-word events stay apart."""
        constants = sum(1 for i, seen in family.values.items() if i != position and any(v != WILDCARD for v in seen))
        return constants >= self.config.min_constants

    def _reproject(self, family: Family) -> None:
        """Re-key the family's templates under the new variable set; older templates win merges."""
        merged: dict[tuple[str, ...], int] = {}
        for projection, tid in sorted(family.templates.items(), key=lambda kv: kv[1]):
            new = family.project(projection)
            survivor = merged.get(new)
            if survivor is None:
                merged[new] = tid
                self.templates[tid].tokens = new
                self.templates[tid].text = render_tokens(new)
            else:
                self.alias[tid] = survivor
                self.templates[survivor].count += self.templates[tid].count
        family.templates = merged

    def _new_template(self, family: Family, tokens: tuple[str, ...], masks: dict[str, int]) -> int:
        tid = self._next_template
        self._next_template += 1
        base = f"{self.namespace}\x00{' '.join(tokens)}"
        key, salt = stable_key(base), 0
        while key in self.keys:  # same birth text born twice (after a cap or a re-route)
            salt += 1
            key = stable_key(f"{base}\x00{salt}")
        self.templates[tid] = Template(tid, key, family.id, tokens, 0, dict(masks))
        self.keys[key] = tid
        family.templates[tokens] = tid
        return tid

    def _overflow(self, tokens: tuple[str, ...]) -> int:
        """Past the cap: a key derived from the shape itself (stable, never generalised or merged)."""
        key = stable_key(f"{self.namespace}\x00overflow\x00{' '.join(tokens)}")
        tid = self.keys.get(key)
        if tid is None:
            tid = self._next_template
            self._next_template += 1
            self.templates[tid] = Template(tid, key, -1, tokens, 0, {"overflow": 1})
            self.keys[key] = tid
        return tid

    # -- state ---------------------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "namespace": self.namespace,
            "config": self.config.as_dict(),
            "next_template": self._next_template,
            "next_family": self._next_family,
            "templates": [[t.id, t.key, t.family, list(t.tokens), t.count, t.masks] for t in self.templates.values()],
            "families": [
                {
                    "id": f.id,
                    "tokens": list(f.tokens),
                    "variable": sorted(f.variable),
                    "values": {str(i): list(v) for i, v in f.values.items()},
                    "templates": [[list(p), tid] for p, tid in f.templates.items()],
                }
                for f in self.families.values()
            ],
            "alias": [[a, b] for a, b in self.alias.items()],
            "vocabulary": sorted(self.vocabulary),
            "alternatives": {word: list(fids) for word, fids in self.alternatives.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TemplateMiner:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported miner state version {state.get('version')!r}")
        miner = cls(MinerConfig(**state["config"]), state["namespace"])
        miner._next_template = int(state["next_template"])
        miner._next_family = int(state["next_family"])
        for tid, key, fid, tokens, count, masks in state["templates"]:
            miner.templates[tid] = Template(tid, key, fid, tuple(tokens), count, dict(masks))
            miner.keys[key] = tid
        for raw in state["families"]:
            family = Family(
                raw["id"],
                list(raw["tokens"]),
                set(raw["variable"]),
                {int(i): list(v) for i, v in raw["values"].items()},
                {tuple(p): tid for p, tid in raw["templates"]},
            )
            miner.families[family.id] = family
            miner.by_length.setdefault(len(family.tokens), []).append(family.id)
        miner.alias = {int(a): int(b) for a, b in state["alias"]}
        miner.vocabulary = set(state.get("vocabulary", ()))
        miner.alternatives = {word: list(fids) for word, fids in state.get("alternatives", {}).items()}
        for family in miner.families.values():
            for position, seen in family.values.items():
                for value in seen:
                    if WILDCARD not in value and value not in miner.vocabulary:
                        miner._holders.setdefault(value, []).append((family.id, position))
        return miner


def render_tokens(tokens: tuple[str, ...]) -> str:
    """Template text: tokens joined, adjacent `<*>` shown once."""
    out: list[str] = []
    for token in tokens:
        if token == WILDCARD and out and out[-1] == WILDCARD:
            continue
        out.append(token)
    return " ".join(out)


_VOCABULARY_LIMIT = 50_000
_ALTERNATIVE_FAMILIES = 3  # `Starting`/`Ending` recur in two events' texts; user names in more
_WORD_VALUE = re.compile(r"[A-Za-z][A-Za-z_.-]*")  # value words worth remembering (not numbers)
_IDENTIFIER = re.compile(
    r"[A-Za-z0-9][._/\\@{(\[,][A-Za-z0-9]"  # an inner separator: com.apple.x, a/b, f(x), yarn,curi
    r"|[A-Za-z0-9]_[A-Za-z0-9]"  # snake_case and CONSTANT_CASE
    r"|[A-Za-z]-[A-Za-z\d-]*\d"  # a hyphenated name with a number: tbird-admin1
)
_ERROR_NAME = re.compile(r"(?:Exception|Error)\W*$")


def is_identifier(token: str) -> bool:
    """A name that looks generated or chosen at run time rather than a word of the format string.

    Plain and camelCase words (`HTTPS`, `onStandStepChanged`) are not: methods and keywords are
    written in the format string. Exception and error type names name the event, and a masked
    `key=<*>` keeps its key, so neither counts.
    """
    return WILDCARD not in token and _IDENTIFIER.search(token) is not None and not _ERROR_NAME.search(token)


def _similarity(tokens: tuple[str, ...], names: dict[str, bool]) -> Callable[[list[str]], float]:
    """Share of the line's constant words that a family shares at the same position.

    Masked slots do not vote: agreeing on `<*>` says little, and counting it would let
    short lines with one masked value (`boot (command <*>)`, `wait (command <*>)`) join.
    Identifier-like names (`com.tencent.mm/.Main`) only vote when a line has no plain word,
    so `Displayed <name>: <*>` lines meet in one family and their name position can vary.
    `names` caches `is_identifier` per token. Returns the scoring function for the line, which
    compares a family's tokens at the voting positions only.
    """
    words: list[int] = []
    named: list[int] = []
    for i, token in enumerate(tokens):
        if WILDCARD in token:  # `<*>`, `(<*>)`, `<*>,` are all masked slots
            continue
        name = names.get(token)
        if name is None:
            name = names[token] = is_identifier(token)
        (named if name else words).append(i)
    voters = words or named
    if not voters:
        return lambda family: 1.0
    if len(voters) == 1:
        only = voters[0]
        value = tokens[only]
        return lambda family: 1.0 if family[only] == value else 0.0
    pick = itemgetter(*voters)
    expected = pick(tokens)
    count = len(voters)
    return lambda family: sum(map(eq, pick(family), expected)) / count
