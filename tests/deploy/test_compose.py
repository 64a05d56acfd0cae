"""docker-compose.yml, its gateway and the image, checked without a Docker engine.

The Compose file is validated twice: against the Compose Specification's JSON schema (after
interpolation with .env.example, as Compose validates), and by compose-go's loader — the
library `docker compose config` uses — which also checks references (depends_on, volumes)
and the required variables.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import DEPLOY, REPO, SERVICES, read_env_file

COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
VARIABLE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose-style ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR:+alt}, $$."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        escaped, name, operator, argument, bare = match.groups()
        if escaped:
            return "$"
        name = name or bare
        current = env.get(name)
        unset_or_empty = not current if operator and operator.startswith(":") else current is None
        if operator in (":-", "-"):
            return argument if unset_or_empty else current
        if operator in (":?", "?"):
            if unset_or_empty:
                raise AssertionError(f"required variable {name} is not set: {argument}")
            return current
        if operator in (":+", "+"):
            return "" if unset_or_empty else argument
        return current or ""

    return VARIABLE.sub(replace, value)


def compose_model() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def strings_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return [value] if isinstance(value, str) else []


def compose_variables() -> set[str]:
    """The variables of docker-compose.yml and of its Kafka-secure variant (one .env for both)."""
    models = [compose_model(), yaml.safe_load((REPO / "docker-compose.kafka-secure.yml").read_text(encoding="utf-8"))]
    names = {m.group(2) or m.group(5) for text in strings_in(models)
             for m in VARIABLE.finditer(text) if not m.group(1)}
    # Pass-through variables (`NAME:` with no value) are read from .env as well.
    for service in compose_model()["services"].values():
        environment = service.get("environment") or {}
        if isinstance(environment, dict):
            names |= {key for key, value in environment.items() if value is None}
    return names


def documented_variables() -> set[str]:
    names = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line.strip())
        if match:
            names.add(match.group(1))
    return names


def test_compose_matches_the_compose_specification_schema(tools) -> None:
    schema = json.loads(tools.compose_schema.read_text(encoding="utf-8"))
    model = interpolate(compose_model(), read_env_file(ENV_EXAMPLE))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(model), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
    # The check has teeth: a misspelt key is rejected.
    broken = dict(model, services=dict(model["services"], gateway=dict(model["services"]["gateway"], restrat="always")))
    assert list(validator_class(schema).iter_errors(broken))


def test_compose_loads_like_docker_compose_config(tools) -> None:
    done = subprocess.run([str(tools.compose_check), "-file", str(COMPOSE), "-env-file", str(ENV_EXAMPLE), "-print"],
                          capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    project = yaml.safe_load(done.stdout)
    assert set(project["services"]) >= {f"{s}-{role}" for s in SERVICES for role in ("migrate", "api", "worker")}
    # Without the secrets, Compose refuses to start rather than run with defaults.
    bare = subprocess.run([str(tools.compose_check), "-file", str(COMPOSE)], capture_output=True, text=True,
                          timeout=60, cwd=REPO, check=False)
    assert bare.returncode != 0 and "SHOUHU_REGISTRY_DB_PASSWORD" in bare.stderr


def test_every_compose_variable_is_documented_in_env_example() -> None:
    used, documented = compose_variables(), documented_variables()
    assert used - documented == set(), f"not in .env.example: {sorted(used - documented)}"
    assert documented - used == set(), f"in .env.example but unused: {sorted(documented - used)}"


def test_every_image_takes_the_registry_prefix() -> None:
    for name, service in compose_model()["services"].items():
        assert service["image"].startswith("${SHOUHU_IMAGE_REGISTRY:-"), f"{name}: {service['image']}"
        assert not service["image"].endswith(":latest")
    build_args = compose_model()["services"]["registry-migrate"]["build"]["args"]
    assert build_args["PYTHON_IMAGE"].startswith("${SHOUHU_IMAGE_REGISTRY:-")


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_migrate_then_api_and_worker(service: str) -> None:
    services = compose_model()["services"]
    env = read_env_file(ENV_EXAMPLE)
    for role in ("migrate", "api", "worker"):
        entry = services[f"{service}-{role}"]
        assert entry["command"] == [f"services.{service}", role]
        assert entry["read_only"] is True and entry["cap_drop"] == ["ALL"]
        environment = interpolate(entry["environment"], env)
        urls = {k: v for k, v in environment.items() if k.endswith("_DATABASE_URL")}
        assert list(urls) == [f"SHOUHU_{service.upper()}_DATABASE_URL"], f"{service}-{role}: {list(urls)}"
        assert urls[f"SHOUHU_{service.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/shouhu_{service}")
        assert environment["SHOUHU_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert services[f"{service}-migrate"]["restart"] == "no"
    assert services[f"{service}-migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for role in ("api", "worker"):
        depends = services[f"{service}-{role}"]["depends_on"]
        assert depends[f"{service}-migrate"]["condition"] == "service_completed_successfully"
    assert services[f"{service}-api"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services[f"{service}-worker"]["depends_on"]["kafka-topics"]["condition"] == "service_completed_successfully"
    config = importlib.import_module(f"services.{service}.config")
    port = config.load_settings().http_port
    assert services[f"{service}-api"]["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/readyz"


def test_infrastructure_has_healthchecks_and_named_volumes() -> None:
    model = compose_model()
    services = model["services"]
    for name in ("postgres", "kafka", "gateway"):
        assert services[name]["healthcheck"]["test"], name
    assert re.search(r"/kafka:4\.1\.1@sha256:[0-9a-f]{64}$", services["kafka"]["image"])
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert re.search(r"/postgres:15\.\d+-bookworm@sha256:[0-9a-f]{64}$", services["postgres"]["image"])
    assert services["gateway"]["image"].endswith("/shouhu-gateway:${SHOUHU_VERSION:-dev}")
    assert services["gateway"]["build"]["target"] == "gateway"
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source.startswith("./") or source in model["volumes"], f"{name}: anonymous volume {volume}"
    assert set(model["volumes"]) == {"postgres-data", "kafka-data"}
    assert "version" not in model


def test_postgres_init_creates_one_database_and_role_per_service() -> None:
    script = (DEPLOY / "compose" / "postgres-init" / "10-shouhu-databases.sh").read_text(encoding="utf-8")
    [loop] = re.findall(r"^for service in (.+); do$", script, re.MULTILINE)
    assert loop.split() == list(SERVICES)
    assert 'CREATE DATABASE :"db" OWNER :"role"' in script
    assert 'GRANT SET ON PARAMETER session_replication_role TO :"role"' in script  # for `shouhu import`


def test_gateway_serves_the_four_apis_under_one_origin() -> None:
    nginx = (DEPLOY / "compose" / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(r"^\s*listen 8080", nginx, re.MULTILINE)
    gateway = compose_model()["services"]["gateway"]
    assert gateway["ports"] == ["${SHOUHU_GATEWAY_BIND:-127.0.0.1}:${SHOUHU_GATEWAY_PORT:-8080}:8080"]
    for service in SERVICES:
        port = importlib.import_module(f"services.{service}.config").load_settings().http_port
        block = re.search(rf"location /{service}/ \{{(.*?)\}}", nginx, re.DOTALL)
        assert block, f"no location /{service}/"
        body = block.group(1)
        assert f"set $upstream {service}-api:{port};" in body
        assert f"rewrite ^/{service}/(.*)$ /$1 break;" in body, f"/{service}/ does not strip its prefix"
        assert "proxy_pass http://$upstream;" in body
        assert gateway["depends_on"][f"{service}-api"]["condition"] == "service_healthy"


def test_dockerfile_builds_one_small_non_root_image() -> None:
    """One services' image (the last stage, the default target) and the gateway's (target
    `gateway`: the console built by Node, its API client generated by the services' Python)."""
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=docker\.io/library/python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}$", dockerfile,
                     re.MULTILINE)
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?$", dockerfile, re.MULTILINE)
    assert stages == [("${PYTHON_IMAGE}", "build"), ("${PYTHON_IMAGE}", "openapi"), ("${NODE_IMAGE}", "console"),
                      ("${NGINX_IMAGE}", "gateway"), ("${PYTHON_IMAGE}", "")], stages
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert len(users) == 2 and all(user.split(":")[0] not in ("0", "root") for user in users)
    # The console's stage builds with the same scripts as `make up` (web/package.json).
    scripts = json.loads((REPO / "web" / "package.json").read_text(encoding="utf-8"))["scripts"]
    assert "sh scripts/api.sh --types-only && npm run build:only" in dockerfile and "build:only" in scripts
    assert scripts["build"] == "npm run api && npm run build:only"
    assert re.search(r'^ENTRYPOINT \["python", "-m"\]$', dockerfile, re.MULTILINE)
    # In a container every api listens on all interfaces (the services default to 127.0.0.1).
    for service in SERVICES:
        assert re.search(rf"SHOUHU_{service.upper()}_HTTP_HOST=0\.0\.0\.0", dockerfile), service
    ignored = set(Path(REPO / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".data", ".git", "tests", "bench"} <= ignored
