"""An in-memory source: the fake every test and embedding program can hand to the pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from errorsift.models import ErrorEvent
from errorsift.sources.base import SourceStats


class MemorySource:
    def __init__(self, events: Iterable[ErrorEvent], name: str = "memory") -> None:
        self.name = name
        self._events = list(events)
        self.stats = SourceStats()

    def events(self) -> Iterator[ErrorEvent]:
        for event in self._events:
            self.stats.lines += 1
            self.stats.events += 1
            yield event
