# Rollout Sidecar container image.
#
#   docker build -t rollout-sidecar:0.1.0 .
#   docker run --init -v sidecar-config:/etc/rollout-sidecar -v sidecar-state:/var/lib/rollout-sidecar \
#       -p 127.0.0.1:8013:8013 -p 127.0.0.1:8014:8014 -p 127.0.0.1:8015:8015 \
#       -p 127.0.0.1:8016:8016 rollout-sidecar:0.1.0
#
# No Docker engine runs on the development or CI machines, so this file cannot be built there: it is
# linted with hadolint (tests/ops/test_dockerfile.py) and built wherever an engine is available.
# Both stages use the same pinned base image, so the venv's interpreter path (/usr/local/bin/python3.11)
# exists unchanged in the final stage. Pin by digest as well (python:3.11.13-slim-bookworm@sha256:...)
# when publishing from a registry you control.

FROM python:3.11.13-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# .dockerignore admits only what the wheel needs (pyproject.toml, README.md, LICENSE, sidecar/).
COPY . .
# Build the project wheel, then install it and its pinned/bounded dependencies into a self-contained
# venv; every runtime dependency ships manylinux wheels, so no compiler is needed.
RUN python -m venv /opt/venv \
    && python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-cache-dir /wheels/*.whl \
    && /opt/venv/bin/sidecar --help > /dev/null


FROM python:3.11.13-slim-bookworm

# A fixed numeric uid/gid so orchestrators can verify runAsNonRoot and volumes can be pre-chowned.
RUN groupadd --system --gid 10001 sidecar \
    && useradd --system --uid 10001 --gid sidecar --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin sidecar \
    && install -d -o sidecar -g sidecar -m 0750 \
        /etc/rollout-sidecar /var/lib/rollout-sidecar /run/rollout-sidecar

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

USER 10001:10001
WORKDIR /var/lib/rollout-sidecar

# Configuration (flag and rollout files; mount read-only) and durable state (decision records, HLC).
VOLUME ["/etc/rollout-sidecar", "/var/lib/rollout-sidecar"]

# 8013: our gRPC API and flagd's evaluation API; 8014: the management HTTP listener (/metrics, /healthz,
# /readyz for probes and scrapers); 8015: flagd's sync API for in-process providers; 8016: OFREP (HTTP)
# for OFREP providers.
EXPOSE 8013 8014 8015 8016

HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 CMD ["sidecar", "health"]

# Outside a container the sidecar listens on 127.0.0.1 only (see systemd/sidecar.service). Here the
# container has its own network namespace, so 127.0.0.1 would be unreachable from the host and from
# other containers: listen on 0.0.0.0 inside the namespace and decide exposure where the container
# is run (`-p 127.0.0.1:8013:8013`, a pod-local sidecar, or a network policy). The unix socket under
# /run/rollout-sidecar can be shared with a co-located container through a volume.
# Run with `--init` (or an init in the pod) so signals and zombie reaping behave as under systemd.
ENTRYPOINT ["sidecar", "serve"]
CMD ["--config-dir", "/etc/rollout-sidecar", \
     "--state-dir", "/var/lib/rollout-sidecar", \
     "--listen", "unix:/run/rollout-sidecar/sidecar.sock", \
     "--listen", "0.0.0.0:8013", \
     "--management-listen", "0.0.0.0:8014", \
     "--flagd-sync-listen", "0.0.0.0:8015", \
     "--ofrep-listen", "0.0.0.0:8016"]
