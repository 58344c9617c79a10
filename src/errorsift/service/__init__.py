"""Running errorsift as a service: schedule, lease, notifications, metrics, retention.

Import the submodules directly (`errorsift.service.scheduler`, `.lease`, `.notify`, `.metrics`,
`.retention`, `.once`, `.command`); this package stays empty so importing one part (say, the
metrics for the dashboard) does not pull in the scheduler.
"""
