"""errorsift: turn a fleet's raw production errors into a short, owned list of patterns."""

__version__ = "0.1.0"
