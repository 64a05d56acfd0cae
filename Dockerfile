# syntax=docker/dockerfile:1
#
# One image for all four services and all three roles. The command chooses which:
#
#   docker run IMAGE services.registry api       # HTTP API (port 8001; pairing 8002, visits 8003, notify 8004)
#   docker run IMAGE services.pairing worker     # outbox relay + Kafka consumers
#   docker run IMAGE services.visits migrate     # one-shot, forward-only migrations
#
# Configuration comes only from the environment (see .env.example); nothing is baked in.
# Build:  docker build -t localhost/shouhu:dev .
# Sites that mirror images pass the base image from their own registry, with the same digest
# (a mirror copied with `crane copy` / `skopeo copy --all` keeps it):
#   docker build --build-arg PYTHON_IMAGE=harbor.example.gov.cn/library/python:3.11-slim-bookworm@sha256:<as below> .
#
# The gateway image (target `gateway`): nginx with the staff console and the caregiver app built
# in (web/dist), their API client generated from these services' OpenAPI documents on the way:
#   docker build --target gateway -t localhost/shouhu-gateway:dev .
# The services' image (the last stage, the default target) does not build the console.

# Base images by digest (tag@sha256:...): the tag is for people, the digest is what is pulled, so
# a rebuild gets the same bytes. Where each digest came from and how to refresh them:
# docs/operations.md, "Reproducible images" (scripts/pin-images).
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b
ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0
ARG NGINX_IMAGE=docker.io/library/nginx:1.30-alpine@sha256:02b1b2a0445514891a14aa371845f6085d5d9d10d385b30d6aad606a50a29a05

# ---- build: the project's own wheel only. Its dependencies are never resolved here: they come
# from requirements/runtime.lock (exact versions, every file's sha256), installed below.
# No build isolation: the base image's setuptools builds it (no unhashed download).
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1
WORKDIR /src
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
RUN python -m pip wheel --no-deps --no-build-isolation --wheel-dir /wheels .

# ---- openapi: each service's OpenAPI document, asked of its app without a server or database
FROM ${PYTHON_IMAGE} AS openapi
COPY requirements/runtime.lock /tmp/runtime.lock
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir --require-hashes --no-deps -r /tmp/runtime.lock \
 && python -m pip install --no-cache-dir --no-index --no-deps /wheels/shouhu-*.whl
WORKDIR /src
COPY web/scripts/dump_openapi.py web/scripts/dump_openapi.py
RUN python web/scripts/dump_openapi.py

# ---- console: the staff console and the caregiver app (npm ci from the lock file; Vite)
FROM ${NODE_IMAGE} AS console
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
COPY --from=openapi /src/web/src/api/*.json src/api/
RUN sh scripts/api.sh --types-only && npm run build:only

# ---- gateway: nginx serving the built files (its own configuration serves only them;
# the compose gateway mounts deploy/compose/nginx.conf, which adds the APIs)
FROM ${NGINX_IMAGE} AS gateway
COPY deploy/console/nginx.conf /etc/nginx/nginx.conf
COPY deploy/compose/console.conf /etc/nginx/console.conf
COPY --from=console /src/web/dist /usr/share/nginx/html
# nginx's own unprivileged user; port 8080, so no capability is needed.
USER 101:101
EXPOSE 8080

# ---- runtime: the wheels installed into a clean interpreter, run as an unprivileged user
FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The reports' PDFs: WeasyPrint lays them out with Pango, in Debian's Noto CJK fonts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid/gid, so Kubernetes runAsUser/fsGroup and compose `user:` can name it.
RUN groupadd --system --gid 10001 shouhu \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin shouhu
# The dependencies exactly as locked (pip refuses any file whose sha256 is not in the lock, and
# --no-deps any package the lock does not name), then the project's wheel without dependencies,
# then byte-compile: at run time the root filesystem is read-only (Kubernetes
# readOnlyRootFilesystem), so nothing can be cached later.
COPY requirements/runtime.lock /tmp/runtime.lock
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --require-hashes --no-deps -r /tmp/runtime.lock \
 && python -m pip install --no-index --no-deps /wheels/shouhu-*.whl \
 && rm /tmp/runtime.lock \
 && python -m compileall -q "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
# In a container the APIs listen on every interface (the services default to 127.0.0.1).
ENV SHOUHU_REGISTRY_HTTP_HOST=0.0.0.0 \
    SHOUHU_PAIRING_HTTP_HOST=0.0.0.0 \
    SHOUHU_VISITS_HTTP_HOST=0.0.0.0 \
    SHOUHU_NOTIFY_HTTP_HOST=0.0.0.0 \
    SHOUHU_REPORTS_HTTP_HOST=0.0.0.0
# `python -m` puts the working directory on sys.path: make it one nobody can write to.
WORKDIR /
USER 10001:10001
# The HTTP ports of the five APIs (each container uses its own).
EXPOSE 8001 8002 8003 8004 8005
ENTRYPOINT ["python", "-m"]
CMD ["services.registry", "api"]
