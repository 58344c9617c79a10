"""An online template miner: Drain's cheap routing plus Brain's per-position distinct-value rule.

Why not plain Drain: one similarity threshold cannot tell `... HTTPS` from `... SOCKS5` (two
constants of two events) and `user alice` from `user bob` (one variable). The signal that can is how
many distinct values a position takes among lines that otherwise look alike (notes §2, §6).

How it works, per masked token tuple (a "shape"):

1. An exact-hash cache maps a shape seen before straight to its template (most lines stop here).
2. Otherwise the shape joins the most similar *family* of the same length (Drain-like similarity,
   masked slots count as agreeing), or opens a new family.
3. A family counts, per position, the distinct values its shapes carry. A position with at least
   `variable_threshold` distinct values is declared variable. The family's *templates* are its shapes
   with the variable positions replaced by `<*>`: positions with fewer values stay constant, so two
   events that differ in one keyword stay apart.
4. A template gets a key at birth (never derived from its later text). When a position turns
   variable, templates that become equal merge: the older key survives and the younger one becomes
   an alias, so callers can re-point what they counted.

The learned state is plain JSON-able data (`export_state` / `from_state`); the cache is rebuilt on
demand because a seen shape always projects back onto its stored template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
        self._cache: dict[tuple[str, ...], int] = {}
        self._next_template = 0
        self._next_family = 0

    # -- signing -------------------------------------------------------------------------------

    def add(self, tokens: tuple[str, ...], masks: dict[str, int] | None = None) -> Template:
        """Learn from one masked token tuple and return its (alias-resolved) template."""
        tid = self._cache.get(tokens)
        if tid is None:
            tid = self._route(tokens, masks or {})
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
        candidates = self.by_length.get(len(tokens), ())
        for fid in candidates:  # a known shape projects back onto its template: restart-safe
            family = self.families[fid]
            tid = family.templates.get(family.project(tokens))
            if tid is not None:
                return tid
        best: Family | None = None
        best_score = -1.0
        for fid in candidates:
            family = self.families[fid]
            score = _similarity(family.tokens, tokens)
            if score > best_score:
                best, best_score = family, score
        if len(self.templates) >= self.config.max_templates:
            return self._overflow(tokens)
        if best is None or best_score < self.config.similarity:
            best = self._new_family(tokens)
        return self._join(best, tokens, masks)

    def _new_family(self, tokens: tuple[str, ...]) -> Family:
        family = Family(self._next_family, list(tokens))
        self._next_family += 1
        self.families[family.id] = family
        self.by_length.setdefault(len(tokens), []).append(family.id)
        return family

    def _join(self, family: Family, tokens: tuple[str, ...], masks: dict[str, int]) -> int:
        changed = False
        for i, token in enumerate(tokens):
            if family.tokens[i] != token:
                family.tokens[i] = WILDCARD
            if i in family.variable:
                continue
            seen = family.values.setdefault(i, [])
            if token not in seen:
                seen.append(token)
                if len(seen) >= self.config.variable_threshold and self._may_vary(family, i):
                    family.variable.add(i)
                    del family.values[i]
                    changed = True
        if changed:
            self._reproject(family)
        projection = family.project(tokens)
        tid = family.templates.get(projection)
        if tid is None:
            tid = self._new_template(family, projection, masks)
        return tid

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
        return miner


def render_tokens(tokens: tuple[str, ...]) -> str:
    """Template text: tokens joined, adjacent `<*>` shown once."""
    out: list[str] = []
    for token in tokens:
        if token == WILDCARD and out and out[-1] == WILDCARD:
            continue
        out.append(token)
    return " ".join(out)


def _similarity(family: list[str], tokens: tuple[str, ...]) -> float:
    """Share of the line's constant words that the family shares at the same position.

    Masked slots do not vote: agreeing on `<*>` says little, and counting it would let
    short lines with one masked value (`boot (command <*>)`, `wait (command <*>)`) join.
    """
    same = constants = 0
    for a, b in zip(family, tokens, strict=True):
        if WILDCARD not in b:  # `<*>`, `(<*>)`, `<*>,` are all masked slots
            constants += 1
            if a == b:
                same += 1
    return same / constants if constants else 1.0
