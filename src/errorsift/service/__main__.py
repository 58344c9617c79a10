"""`python -m errorsift.service worker …`: the service commands without the main CLI."""

from errorsift.service.command import service_cli

service_cli()
