"""The action log: every change people made from the dashboard, who/when/why, each with its undo."""

from __future__ import annotations

from typing import Any

from errorsift.store.store import StoreConn
from errorsift.web.actions import UNDOABLE

__all__ = ["actions_context", "describe"]

ACTIONS_SHOWN = 200


def describe(action: dict[str, Any]) -> str:
    """One human sentence for a log entry (the details column is for undo, not for reading)."""
    d = action.get("details") or {}
    kind = action["action"]
    if kind == "noise_add":
        return f"marked as known noise (rule #{d.get('rule_id')})"
    if kind == "noise_remove":
        rule = d.get("rule") or {}
        return f"removed noise rule #{d.get('rule_id')} ({rule.get('kind', '')} {rule.get('value', '')!r})"
    if kind == "override":
        return f"owner set to {d.get('bucket')}/{d.get('owner')}"
    if kind == "override_clear":
        return "owner override cleared"
    if kind == "merge":
        return f"merged into {d.get('into')}"
    if kind == "reanalyze":
        return f"analysis expired ({len(d.get('expired', []))} cached), re-analyzed next run"
    if kind == "undo":
        return f"undid #{d.get('undid')}"
    return str(kind)


def actions_context(sc: StoreConn) -> dict[str, Any]:
    rows = []
    for a in sc.actions(limit=ACTIONS_SHOWN):
        rows.append(
            {
                "id": a["id"],
                "at": a["at"],
                "who": a["who"],
                "action": a["action"],
                "target": a["target"],
                "reason": a["reason"],
                "description": describe(a),
                "undone_at": a["undone_at"],
                "undoable": a["action"] in UNDOABLE and a["undone_at"] is None,
            }
        )
    return {"actions": rows}
