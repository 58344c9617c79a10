# errorsift: one image for the worker (default) and the dashboard (`serve`), pointed at PostgreSQL.
#   docker build -t errorsift .
#   docker run --env-file errorsift.env errorsift                       # the schedule (worker)
#   docker run --env-file errorsift.env -p 8000:8000 errorsift serve --host 0.0.0.0 --port 8000
# See docs/deploy.md for the environment (ERRORSIFT_DB=postgresql+psycopg://…, secrets).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/errorsift \
 && /opt/errorsift/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/errorsift/bin/pip install --no-cache-dir '.[postgres]'

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/errorsift --create-home errorsift
COPY --from=build /opt/errorsift /opt/errorsift
# Inside a container, loopback is unreachable from `-p 9464:9464` and from a Prometheus scraper, so
# the image binds all interfaces on purpose. /metrics and /healthz have no auth (they show counts and
# spend): publish 9464 only on a network you trust, or set ERRORSIFT_METRICS_HOST=127.0.0.1.
ENV PATH=/opt/errorsift/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ERRORSIFT_METRICS_PORT=9464 \
    ERRORSIFT_METRICS_HOST=0.0.0.0
USER errorsift
WORKDIR /var/lib/errorsift
EXPOSE 8000 9464
# /healthz answers 200 while the last successful run is younger than healthz_max_age.
HEALTHCHECK --interval=60s --timeout=5s --start-period=10m \
  CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4).status == 200 else 1)"
# SIGTERM finishes the current step, then exits 0; give it time (docker stop -t 300).
STOPSIGNAL SIGTERM
ENTRYPOINT ["errorsift"]
CMD ["worker"]
