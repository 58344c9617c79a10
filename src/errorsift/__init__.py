"""errorsift: turn a fleet's raw production errors into a short, owned list of patterns.

The library behind the `errorsift` command. A run, from Python::

    from errorsift import MemorySource, OfflineAnalyzer, Pipeline, Redactor, RunConfig, SeedNormalizer, Store

    store = Store("errorsift.db")
    result = Pipeline(store, SeedNormalizer(), Redactor().redact_with_counts, OfflineAnalyzer(), RunConfig()).run(
        MemorySource(events)
    )
"""

from errorsift.analysis.offline import OfflineAnalyzer
from errorsift.errors import AnalyzerError, ConfigError, ErrorsiftError, SourceError, StoreError
from errorsift.models import Analysis, AnalysisRequest, Anomaly, ErrorEvent, SignatureResult, Triage
from errorsift.pipeline import Pattern, Pipeline, RunConfig, RunResult
from errorsift.signatures.mined import MinedGrouper
from errorsift.signatures.redact import Redactor
from errorsift.signatures.seed import SeedNormalizer
from errorsift.sources.memory import MemorySource
from errorsift.store.store import Store

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "AnalysisRequest",
    "AnalyzerError",
    "Anomaly",
    "ConfigError",
    "ErrorEvent",
    "ErrorsiftError",
    "MemorySource",
    "MinedGrouper",
    "OfflineAnalyzer",
    "Pattern",
    "Pipeline",
    "Redactor",
    "RunConfig",
    "RunResult",
    "SeedNormalizer",
    "SignatureResult",
    "SourceError",
    "Store",
    "StoreError",
    "Triage",
    "__version__",
]
