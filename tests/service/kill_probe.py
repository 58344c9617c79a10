"""Parks a child process inside a given write transaction so a test can SIGKILL it right there.

Test-only instrumentation, installed by the child's own command line (never by errorsift):
``python -c "import kill_probe; kill_probe.install('store'); …main()"``. It wraps one store
method, prints ``PROBE <point>`` to stderr once the transaction holds the step's writes, then
sleeps, so "killed during the ingest" and "killed during the store" are certain, not timing luck.
"""

from __future__ import annotations

import sys
import time
from typing import Any

_PARK = [120.0]


def _park(point: str) -> None:
    sys.stderr.write(f"PROBE {point}\n")
    sys.stderr.flush()
    time.sleep(_PARK[0])


def install(point: str, park: float = 120.0) -> None:
    """Park `park` seconds at `point` ("ingest" or "store"); a short park lets SIGTERM tests go on."""
    _PARK[0] = park
    if point == "ingest":  # inside the ingest transaction: ids claimed, counts and signatures written
        from errorsift.ingest import Ingestor

        finish = Ingestor.finish

        def parked_finish(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = finish(self, *args, **kwargs)
            _park(point)
            return result

        Ingestor.finish = parked_finish  # type: ignore[method-assign]
    elif point == "store":  # inside the final transaction: triage rows and the run report written
        from errorsift.store.store import StoreConn

        finish_run = StoreConn.finish_run

        def parked_finish_run(self: Any, run_id: int, status: str, *args: Any, **kwargs: Any) -> Any:
            result = finish_run(self, run_id, status, *args, **kwargs)
            if status == "ok":
                _park(point)
            return result

        StoreConn.finish_run = parked_finish_run  # type: ignore[method-assign]
    else:
        raise ValueError(f"unknown probe point {point!r}")
