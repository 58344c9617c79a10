"""The `mined-v1` grouping strategy: typed masks, an online template miner and stack-trace keys.

The pipeline holds one `MinedGrouper` per run: it loads the state stored by the last run
(`MinedGrouper.from_state`), signs every message, then stores `export_state()` and re-points the
counts of merged signatures with `aliases()`. Keys are assigned when a template is born and never
change; when two templates merge, the older key survives and the younger becomes an alias.

`normalized` in every result is the exact seed normalization (SPEC layer 1), so the seed view of a
message never depends on what the miner has learned.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from errorsift.models import SignatureResult
from errorsift.signatures.masking import Masker
from errorsift.signatures.miner import MinerConfig, Template, TemplateMiner
from errorsift.signatures.seed import SEED_RULES
from errorsift.signatures.stacktrace import Trace, parse_trace

STRATEGY_ID = "mined-v1"
STATE_VERSION = 1
_MESSAGE_CACHE = 50_000  # exact repeats skip seed normalization, masking and routing
_MAX_TRACES = 50_000
_SEED = [rule.compiled() for rule in SEED_RULES]
_DIGIT_SHAPE = bytes.maketrans(b"0123456789", b"1111111111")


class MinedGrouper:
    """A `Grouper` whose signatures are mined templates or stack-trace frames.

    Deterministic for the same input order; all state is plain JSON-able data.
    """

    strategy_id = STRATEGY_ID

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.masker = Masker()
        self.miner = TemplateMiner(config, namespace=STRATEGY_ID)
        self.traces: dict[str, dict[str, Any]] = {}  # key -> {"template", "count", "frames", ...}
        self.merges: dict[str, str] = {}  # manual merge rules: key -> target key (durable)
        self._recent: OrderedDict[str, tuple[str | None, int | str]] = OrderedDict()

    # -- the Grouper protocol --------------------------------------------------------------------

    def sign(self, message: str, *, normalize: bool = True, shape_cached: bool = False) -> SignatureResult:
        """Sign one redacted message; learns from it.

        `normalize=False` leaves `normalized` empty: for callers that only want the key and
        template (the `Signer`), and call `normalize` themselves for the few samples they keep.
        `shape_cached=True` says the caller already signs each message shape once (the `Signer`),
        so the grouper's own exact-message and masking caches would only cost time.
        """
        if shape_cached:
            if "\n" not in message:
                masked = self.masker.mask(message, cache=False)
                template = self.miner.add(masked.tokens, values=masked.values, rules=masked.rules)
                return self._result(template.key, seed_normalize(message) if normalize else "", template.text)
            hit = None
        else:
            hit = self._recent.get(message)
        if hit is not None:
            normalized, ref = hit
            if normalize and normalized is None:
                normalized = seed_normalize(message)
            if isinstance(ref, int):
                template = self.miner.templates[self.miner.resolve_id(ref)]
                template.count += 1
                return self._result(template.key, normalized or "", template.text)
            self.traces[ref]["count"] += 1
            return self._result(ref, normalized or "", self.traces[ref]["template"])
        normalized = seed_normalize(message) if normalize else None
        trace = parse_trace(message, self.masker) if "\n" in message else None
        if trace is not None and (trace.frames or len(self.traces) < _MAX_TRACES):
            key = self._add_trace(trace)
            self._remember(message, normalized, key)
            return self._result(key, normalized or "", self.traces[key]["template"])
        masked = self.masker.mask(message)
        template = self.miner.add(masked.tokens, values=masked.values, rules=masked.rules)
        self._remember(message, normalized, template.id)
        return self._result(template.key, normalized or "", template.text)

    def normalize(self, message: str) -> str:
        """The seed normalization (SPEC layer 1), exactly; learns nothing."""
        return seed_normalize(message)

    def export_state(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy_id,
            "version": STATE_VERSION,
            "masking": self.masker.version,
            "miner": self.miner.export_state(),
            "traces": {k: dict(v) for k, v in self.traces.items()},
            "merges": dict(self.merges),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> MinedGrouper:
        """Rebuild a grouper from `export_state()` output (None or {} gives a fresh one)."""
        if not state:
            return cls()
        if state.get("strategy") != STRATEGY_ID or state.get("version") != STATE_VERSION:
            raise ValueError(
                f"state is for {state.get('strategy')!r} v{state.get('version')!r}, "
                f"not {STRATEGY_ID!r} v{STATE_VERSION}; start fresh or migrate it"
            )
        grouper = cls()
        grouper.miner = TemplateMiner.from_state(state["miner"])
        grouper.traces = {k: dict(v) for k, v in state.get("traces", {}).items()}
        grouper.merges = dict(state.get("merges", {}))
        return grouper

    # -- merges and aliases --------------------------------------------------------------------

    def resolve(self, key: str) -> str:
        """Follow automatic merges and manual merge rules to the key that counts now."""
        seen = {key}
        while True:
            tid = self.miner.keys.get(key)
            if tid is not None:
                key = self.miner.templates[self.miner.resolve_id(tid)].key
            nxt = self.merges.get(key)
            if nxt is None or nxt in seen:
                return key
            seen.add(nxt)
            key = nxt

    def aliases(self) -> dict[str, str]:
        """Every retired key -> the key that now stands for it (re-point stored counts with it)."""
        out: dict[str, str] = {}
        for tid in self.miner.alias:
            old = self.miner.templates[tid].key
            out[old] = self.resolve(old)
        for old in self.merges:
            out[old] = self.resolve(old)
        return {old: new for old, new in out.items() if old != new}

    def add_merge(self, source: str, target: str) -> None:
        """Durable manual rule: lines that sign as `source` count as `target` from now on."""
        if self.resolve(target) == self.resolve(source):
            return  # already one signature; also what keeps merge rules free of cycles
        self.merges[source] = target

    # -- introspection -------------------------------------------------------------------------

    def template(self, key: str) -> str:
        """The current template of a signature (after merges), or "" when the key is unknown."""
        key = self.resolve(key)
        if key in self.traces:
            return str(self.traces[key]["template"])
        tid = self.miner.keys.get(key)
        return self.miner.templates[tid].text if tid is not None else ""

    def explain(self, key: str) -> str:
        """Why lines share this signature, e.g. "masked: 2 ipv4, 1 number; template token 5 varies"."""
        final = self.resolve(key)
        parts: list[str] = []
        if final != key:
            parts.append(f"{key} merged into {final}")
        if final in self.traces:
            trace = self.traces[final]
            frames = ", ".join(trace["frames"]) or "no frames"
            kind = "frame-based" if trace["in_app"] else "frame-based (library frames only)"
            parts.append(f"{kind}: {trace['exception']} at {frames}")
            return "; ".join(parts)
        tid = self.miner.keys.get(final)
        if tid is None:
            return "; ".join([*parts, "unknown signature"])
        template = self.miner.templates[tid]
        if template.masks:
            masked = ", ".join(f"{n} {name}" for name, n in sorted(template.masks.items()))
            parts.append(f"masked: {masked}")
        family = self.miner.families.get(template.family)
        if family is not None and family.variable:
            positions = ", ".join(str(i) for i in sorted(family.variable))
            parts.append(f"template token{'s' if len(family.variable) > 1 else ''} {positions} varies")
        merged = sorted(self.miner.templates[t].key for t in self.miner.alias if self.miner.resolve_id(t) == tid)
        if merged:
            parts.append(f"absorbed {len(merged)} younger template(s)")
        parts.append(f"seen {template.count} time(s); template: {template.text}")
        return "; ".join(parts)

    # -- internals -----------------------------------------------------------------------------

    def _result(self, key: str, normalized: str, template: str) -> SignatureResult:
        if self.merges:
            final = self.resolve(key)
            if final != key:
                key, template = final, self.template(final)
        return SignatureResult(key, normalized, self.strategy_id, template)

    def _add_trace(self, trace: Trace) -> str:
        key = trace.key(STRATEGY_ID)
        entry = self.traces.get(key)
        if entry is None:
            entry = {
                "template": trace.describe(),
                "exception": trace.exception,
                "frames": list(trace.frames),
                "language": trace.language,
                "in_app": trace.in_app,
                "count": 0,
            }
            self.traces[key] = entry
        entry["count"] += 1
        return key

    def _remember(self, message: str, normalized: str | None, ref: int | str) -> None:
        recent = self._recent
        recent[message] = (normalized, ref)
        if len(recent) > _MESSAGE_CACHE:
            recent.popitem(last=False)


def seed_normalize(message: str, shape: bytes | None = None) -> str:
    """Exactly `SeedNormalizer().normalize`, skipping rules that cannot match.

    Each guard is a necessary condition that earlier substitutions cannot create, because every
    seed placeholder is free of digits and dashes: rules 3 and 5 need digit runs (read from the
    message's digit shape), rule 4 needs four dashes, rules 1 and 2 need the letters "id".
    """
    if shape is None:
        shape = message.encode("utf-8", "surrogatepass").translate(_DIGIT_SHAPE)
    text = message
    if "id" in message.lower():
        text = _SEED[0].sub(SEED_RULES[0].placeholder, text)
        text = _SEED[1].sub(SEED_RULES[1].placeholder, text)
    if b"1111-11-11" in shape:
        text = _SEED[2].sub(SEED_RULES[2].placeholder, text)
    if message.count("-") >= 4:
        text = _SEED[3].sub(SEED_RULES[3].placeholder, text)
    if b"11111" in shape:
        text = _SEED[4].sub(SEED_RULES[4].placeholder, text)
    return " ".join(text.split())


__all__ = ["STRATEGY_ID", "MinedGrouper", "Template"]
