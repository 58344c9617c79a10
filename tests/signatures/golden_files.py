"""Golden-file helper shared by the signature tests: compare, or rewrite when asked.

Regenerate with ``ERRORSIFT_REGEN_GOLDEN=1 .venv/bin/pytest tests/signatures`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = os.environ.get("ERRORSIFT_REGEN_GOLDEN", "") not in ("", "0")


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / "expected" / name
    if REGENERATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        if not REGENERATE:
            raise AssertionError(f"golden file {path} was missing and has been written; review it")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs from its golden file; set ERRORSIFT_REGEN_GOLDEN=1 to update"


def inputs(pattern: str) -> list[Path]:
    return sorted((GOLDEN / "inputs").glob(pattern))
