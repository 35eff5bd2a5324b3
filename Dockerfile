# syntax=docker/dockerfile:1
# b1-backflush in a container: `docker build -t b1-backflush .`, then
#   docker run --env-file sbodemous.env -v b1bf-sbodemous:/var/lib/b1-backflush -p 127.0.0.1:9464:9464 b1-backflush
# One container per company (its own settings and ledger volume). compose.yaml: a trial with the mock.

# Build the wheel and every dependency's wheel, so the final image installs offline and has no compiler.
FROM python:3.11-slim AS wheels
WORKDIR /src
COPY pyproject.toml README.md ./
COPY connector ./connector
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# tzdata: TZ=Europe/Berlin and the like must resolve, or the receipts' `today` silently falls back to UTC.
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    apt-get update && apt-get install -y --no-install-recommends tzdata && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir --no-index --find-links /wheels b1-backflush \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/b1-backflush --create-home b1-backflush
# Not root: the service needs the network and its ledger folder, nothing else.
USER b1-backflush
WORKDIR /var/lib/b1-backflush
# The ledger lives on the volume; the status page, /healthz and /metrics on 9464 (published by the
# operator). TZ: the receipt date `today` is the local date of this time zone; set the company's.
ENV B1_LEDGER_PATH=/var/lib/b1-backflush/ledger.sqlite3 \
    B1_HTTP_HOST=0.0.0.0 \
    B1_HTTP_PORT=9464 \
    PYTHONUNBUFFERED=1 \
    TZ=UTC
VOLUME /var/lib/b1-backflush
EXPOSE 9464
# /healthz: 200 while a cycle succeeded within three intervals, else 503 (urlopen raises: unhealthy).
# The start period covers the first cycle, which may wait for SAP's login retries.
HEALTHCHECK --interval=60s --timeout=10s --start-period=5m --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('B1_HTTP_PORT', '9464'), timeout=8)"]
# SIGTERM: the posting in hand finishes, then it exits 0 (give it time: docker stop -t 120).
STOPSIGNAL SIGTERM
ENTRYPOINT ["b1-backflush"]
CMD ["run"]
