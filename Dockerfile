# sla-exporter: docker build -t sla-exporter . && docker run -p 9929:9929 \
#   -v "$PWD/config.yaml:/etc/sla-exporter/config.yaml:ro" -v sla-data:/var/lib/sla-exporter sla-exporter
# The demo, nothing to configure: docker run --rm -p 9929:9929 sla-exporter demo
# More in docs/operations.md ("Containers").
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# LICENSE too: pyproject.toml names it in license-files, which must exist to build.
COPY pyproject.toml README.md LICENSE ./
COPY exporter ./exporter
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/sla-exporter --create-home sla \
    && mkdir -p /etc/sla-exporter

COPY config.example.yaml /etc/sla-exporter/config.yaml
COPY README.md LICENSE /usr/share/doc/sla-exporter/
COPY docs /usr/share/doc/sla-exporter/docs
# GET /-/healthy on the flags the container runs with, TLS and basic auth included.
COPY deploy/healthcheck.py /usr/local/lib/sla-exporter/healthcheck.py

# The SQLite store (history, incidents) lives here: keep it on a volume.
VOLUME ["/var/lib/sla-exporter"]
WORKDIR /var/lib/sla-exporter
USER 10001:10001
EXPOSE 9929

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "/usr/local/lib/sla-exporter/healthcheck.py"]

ENTRYPOINT ["sla-exporter"]
CMD ["run", "--config.file", "/etc/sla-exporter/config.yaml", "--storage.path", "/var/lib/sla-exporter/sla.db", \
     "--web.listen-address", ":9929"]
