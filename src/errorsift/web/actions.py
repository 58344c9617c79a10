"""What people change from the dashboard, each logged with who/when/why and undoable.

Every action writes the same store state the CLI and the pipeline use (noise rules, owner
overrides, aliases, the analysis cache), so it changes the *next* run's triage, and records in the
action log's `details` exactly what undoing it needs. Each function runs inside the caller's
`Store.begin()` transaction: the change and its log entry commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from errorsift.ingest import resolve_key
from errorsift.store import dashboard as q
from errorsift.store.store import StoreConn
from errorsift.triage import validate_noise_rule

__all__ = [
    "UNDOABLE",
    "ActionError",
    "clear_override",
    "mark_noise",
    "merge_into",
    "override_owner",
    "reanalyze",
    "undo",
    "unmark_noise",
]

UNDOABLE = frozenset({"noise_add", "noise_remove", "override", "override_clear", "merge", "reanalyze"})
MAX_REASON = 500
MAX_NAME = 32  # bucket and owner columns


class ActionError(Exception):
    """A refused action, with a sentence the person can act on (shown as a 400/404/409)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _reason(text: str, required: bool = True) -> str:
    reason = " ".join((text or "").split())
    if required and not reason:
        raise ActionError("say why: a reason is recorded with every change")
    if len(reason) > MAX_REASON:
        raise ActionError(f"the reason is too long ({len(reason)} characters, at most {MAX_REASON})")
    return reason


def _existing(sc: StoreConn, key: str) -> str:
    survivor = resolve_key(sc.aliases(), key)
    if survivor != key:
        raise ActionError(f"{key} was merged into {survivor}: act on {survivor} instead", 409)
    if key not in sc.signature_rows([key]):
        raise ActionError(f"no signature {key!r}", 404)
    return key


def _plain(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def mark_noise(sc: StoreConn, key: str, reason: str, who: str) -> int:
    """Known noise from now on: the next run suppresses it unless it is NEW or spreads."""
    _existing(sc, key)
    why = _reason(reason)
    validate_noise_rule("signature", key)
    rule_id = sc.add_noise_rule("signature", key, why, created_by=who)
    return sc.record_action(who, "noise_add", key, why, {"rule_id": rule_id})


def unmark_noise(sc: StoreConn, key: str, rule_id: int, reason: str, who: str) -> int:
    """Remove the rule that suppresses this pattern (a regex rule may cover other patterns too)."""
    why = _reason(reason)
    rule = next((r for r in sc.noise_rules() if r["id"] == rule_id), None)
    if rule is None:
        raise ActionError(f"no noise rule #{rule_id} (already removed?)", 404)
    sc.remove_noise_rule(rule_id)
    kept = {k: rule[k] for k in ("kind", "value", "reason", "created_by")}
    return sc.record_action(who, "noise_remove", key, why, {"rule_id": rule_id, "rule": kept})


def _name(value: str, what: str) -> str:
    name = (value or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ActionError(f"{what} must be 1 to {MAX_NAME} characters")
    return name


def override_owner(sc: StoreConn, key: str, bucket: str, owner: str, reason: str, who: str) -> int:
    """A routing rule for this signature: beats the model's category from the next run on."""
    _existing(sc, key)
    why = _reason(reason)
    bucket, owner = _name(bucket, "the bucket"), _name(owner, "the owner")
    previous = _plain(sc.owner_overrides().get(key))
    sc.set_owner_override(key, bucket, owner, why, created_by=who)
    details = {"previous": previous, "bucket": bucket, "owner": owner}
    return sc.record_action(who, "override", key, why, details)


def clear_override(sc: StoreConn, key: str, reason: str, who: str) -> int:
    why = _reason(reason)
    previous = _plain(sc.owner_overrides().get(key))
    if previous is None:
        raise ActionError(f"{key} has no owner override", 404)
    sc.clear_owner_override(key)
    return sc.record_action(who, "override_clear", key, why, {"previous": previous})


def merge_into(sc: StoreConn, key: str, into: str, reason: str, who: str) -> int:
    """Merge `key` into `into` for good (history moves, future events follow); undo splits it back."""
    _existing(sc, key)
    why = _reason(reason)
    target = resolve_key(sc.aliases(), (into or "").strip())
    if not target:
        raise ActionError("name the signature to merge into")
    if target == key:
        raise ActionError(f"{key} and {into} are already one signature")
    if target not in sc.signature_rows([target]):
        raise ActionError(f"no signature {into!r} to merge into", 404)
    snapshot = q.snapshot_merge(sc, key, target)
    sc.add_alias(key, target, "merged")
    return sc.record_action(who, "merge", key, why, {"into": target, "snapshot": snapshot})


def reanalyze(sc: StoreConn, key: str, reason: str, who: str) -> int:
    """Expire the cached analyses so the next run asks the analyzer again (a cache miss)."""
    _existing(sc, key)
    why = _reason(reason)
    expired = []
    for kind in ("recent", "pattern"):
        cached = sc.cached_analysis(key, kind)
        if cached is not None:
            expired.append(
                {
                    "analysis_type": kind,
                    "analysis": cached.analysis,
                    "analyzer": cached.analyzer,
                    "created_at": cached.created_at.isoformat(),
                    "prompt": cached.prompt,
                }
            )
    sc.expire_analysis(key)
    return sc.record_action(who, "reanalyze", key, why, {"expired": expired})


# --- undo -----------------------------------------------------------------------------------------


def _undo_noise_add(sc: StoreConn, action: dict[str, Any]) -> None:
    sc.remove_noise_rule(int(action["details"]["rule_id"]))  # already gone is fine: the goal holds


def _undo_noise_remove(sc: StoreConn, action: dict[str, Any]) -> None:
    rule = action["details"]["rule"]
    if not any(r["kind"] == rule["kind"] and r["value"] == rule["value"] for r in sc.noise_rules()):
        sc.add_noise_rule(rule["kind"], rule["value"], rule["reason"], created_by=rule.get("created_by", ""))


def _undo_override(sc: StoreConn, action: dict[str, Any]) -> None:
    newer = [
        a
        for a in q.actions_for(sc, action["target"], limit=200)
        if a["id"] > action["id"] and a["action"] in ("override", "override_clear") and a["undone_at"] is None
    ]
    if newer:
        raise ActionError(f"undo the newer owner change #{newer[-1]['id']} first", 409)
    previous = action["details"].get("previous")
    if previous:
        sc.set_owner_override(
            action["target"], previous["bucket"], previous["owner"], previous["reason"], previous.get("created_by", "")
        )
    else:
        sc.clear_owner_override(action["target"])


def _undo_merge(sc: StoreConn, action: dict[str, Any]) -> None:
    snapshot = action["details"]["snapshot"]
    if sc.aliases().get(snapshot["alias"]) != snapshot["key"]:
        raise ActionError("this merge was changed by a later merge: undo that one first", 409)
    q.restore_merge(sc, snapshot)


def _undo_reanalyze(sc: StoreConn, action: dict[str, Any]) -> None:
    for entry in action["details"].get("expired", []):
        if sc.cached_analysis(action["target"], entry["analysis_type"]) is None:  # a newer one wins
            sc.save_analysis(
                action["target"],
                entry["analysis_type"],
                entry["analysis"],
                entry["analyzer"],
                datetime.fromisoformat(entry["created_at"]),
                entry["prompt"],
            )


_UNDO: dict[str, Callable[[StoreConn, dict[str, Any]], None]] = {
    "noise_add": _undo_noise_add,
    "noise_remove": _undo_noise_remove,
    "override": _undo_override,
    "override_clear": _undo_override,
    "merge": _undo_merge,
    "reanalyze": _undo_reanalyze,
}


def undo(sc: StoreConn, action_id: int, who: str) -> int:
    """Reverse one logged action, mark it undone, and log the undo itself (who undid what, when)."""
    action = sc.action(action_id)
    if action is None:
        raise ActionError(f"no action #{action_id}", 404)
    if action["undone_at"] is not None:
        raise ActionError(f"action #{action_id} was already undone", 409)
    handler = _UNDO.get(action["action"])
    if handler is None:
        raise ActionError(f"a {action['action']!r} action cannot be undone", 409)
    handler(sc, action)
    sc.mark_action_undone(action_id)
    return sc.record_action(
        who, "undo", action["target"], f"undo #{action_id} ({action['action']})", {"undid": action_id}
    )
