"""The errors errorsift raises on purpose; the CLI turns each into one clear line.

ErrorsiftError
├── ConfigError      a setting is missing or malformed
├── SourceError      a source cannot be read (missing file, Datadog auth, rate-limit budget)
├── StoreError       the database cannot be opened or migrated
└── AnalyzerError    a model provider failed after its retries
"""

from __future__ import annotations


class ErrorsiftError(Exception):
    """Base class: an expected failure with a message meant for people."""


class ConfigError(ErrorsiftError):
    pass


class SourceError(ErrorsiftError):
    pass


class StoreError(ErrorsiftError):
    pass


class AnalyzerError(ErrorsiftError):
    pass
