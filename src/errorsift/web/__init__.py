"""The dashboard: `create_app` in `app`, the `serve` command in `command`.

Nothing is imported here, so `errorsift --help` (which registers `serve`) never loads FastAPI.
"""
