"""Static checks of the deployment files: compose (dev and prod), the Dockerfile, .dockerignore, CI.

Docker cannot run where the suite runs, so these are the guard rails: a new pool without a
worker service, a plaintext password default, a fixed container_name that breaks ``--scale``,
or an image that ends as root fail here rather than on someone's server.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.engine.pools import QUEUES

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "docker-compose.yml"
PROD = ROOT / "docker-compose.prod.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")
REQUIRED_ONLY = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}$")
APP_COMMANDS = {"api", "worker", "beat", "flower", "migrate"}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), f"{path.name}: no services"
    return data


def services(path: Path) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = load(path)["services"]
    return result


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    return cmd.split() if isinstance(cmd, str) else [str(part) for part in cmd]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def is_app(service: dict[str, Any]) -> bool:
    cmd = command(service)
    return len(cmd) >= 2 and cmd[0] == "mamcrawler" and cmd[1] in APP_COMMANDS


def workers(svcs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in svcs.items() if command(svc)[:2] == ["mamcrawler", "worker"]}


def volume_target(volume: str | dict[str, Any]) -> str:
    """The container path of a short (``src:dst[:mode]``) or long volume entry."""
    if isinstance(volume, dict):
        return str(volume["target"])
    return INTERPOLATION.sub("X", volume).split(":")[1]  # ${VAR:?msg} holds colons of its own


def secret_violations(compose: dict[str, Any], raw: str) -> list[str]:
    """Every place a secret could be given a plaintext value or a fallback default.

    A secret-named environment value must be exactly ``${VAR:?message}`` (compose refuses to
    start without it) or absent (then it comes from an env_file). Anywhere in the file, an
    interpolation of a secret-named variable must not carry a default (``:-``/``-``/``+``).
    """
    problems = []
    for name, svc in compose["services"].items():
        for key, value in environment(svc).items():
            if SECRET_NAME.search(key) and not REQUIRED_ONLY.match(value):
                problems.append(f"{name}: {key}={value!r} is not ${{VAR:?...}}")
    for match in INTERPOLATION.finditer(raw):
        if SECRET_NAME.search(match.group("name")) and match.group("op") not in (":?", "?"):
            problems.append(f"{match.group(0)!r} gives a secret a default (or none required)")
    return problems


# --------------------------------------------------------------------------------------------
# both files
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [DEV, PROD], ids=["dev", "prod"])
def test_every_pool_has_a_worker_service(path: Path) -> None:
    svcs = workers(services(path))
    pools = [command(svc)[2] for svc in svcs.values()]
    assert sorted(pools) == sorted(QUEUES), f"{path.name}: worker pools {pools} != {QUEUES}"
    for name, svc in svcs.items():
        pool = command(svc)[2]
        assert command(svc) == ["mamcrawler", "worker", pool], f"{name}: {command(svc)}"
        assert name == "worker-" + pool.replace("_", "-"), f"{name} runs pool {pool}"


@pytest.mark.parametrize("path", [DEV, PROD], ids=["dev", "prod"])
def test_every_role_has_its_service(path: Path) -> None:
    svcs = services(path)
    expected = {
        "api": ["mamcrawler", "api"],
        "beat": ["mamcrawler", "beat"],
        "flower": ["mamcrawler", "flower"],
        "migrate": ["mamcrawler", "migrate"],
    }
    for name, cmd in expected.items():
        assert name in svcs and command(svcs[name]) == cmd, f"{path.name}: {name}"
    assert {"postgres", "redis"} <= set(svcs)


@pytest.mark.parametrize("path", [DEV, PROD], ids=["dev", "prod"])
def test_app_services_wait_for_a_successful_migration(path: Path) -> None:
    svcs = services(path)
    assert svcs["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert svcs["migrate"].get("restart", "no") in ("no", "on-failure"), "a one-shot must not loop"
    for name, svc in svcs.items():
        if not is_app(svc) or name == "migrate":
            continue
        deps = svc.get("depends_on") or {}
        assert deps.get("migrate", {}).get("condition") == "service_completed_successfully", name
        assert deps.get("redis", {}).get("condition") == "service_healthy", name
        assert deps.get("postgres", {}).get("condition") == "service_healthy", name


@pytest.mark.parametrize("path", [DEV, PROD], ids=["dev", "prod"])
def test_workers_scale(path: Path) -> None:
    for name, svc in workers(services(path)).items():
        assert "container_name" not in svc, f"{path.name}: {name} has a container_name (breaks --scale)"
        assert not svc.get("ports"), f"{path.name}: {name} publishes ports (breaks --scale)"
        assert "hostname" not in svc, f"{path.name}: {name} pins a hostname (Celery node names would clash)"


@pytest.mark.parametrize("path", [DEV, PROD], ids=["dev", "prod"])
def test_download_and_library_workers_share_the_storage(path: Path) -> None:
    svcs = services(path)
    for name in ("worker-download", "worker-library-sync"):
        targets = {volume_target(v) for v in svcs[name].get("volumes", [])}
        assert {"/data/downloads", "/data/library"} <= targets, f"{path.name}: {name} mounts {targets}"
        env = environment(svcs[name])
        assert env.get("MAMC_QBIT_SAVE_PATH") == "${MAMC_QBIT_SAVE_PATH:-/data/downloads}"
        assert env.get("MAMC_LIBRARY_DIR") == "/data/library"


@pytest.mark.parametrize("path", [DEV, PROD], ids=["dev", "prod"])
def test_redis_never_evicts_and_keeps_an_aof(path: Path) -> None:
    cmd = command(services(path)["redis"])
    pairs = {cmd[i]: cmd[i + 1] for i in range(1, len(cmd) - 1) if cmd[i].startswith("--")}
    assert cmd[0] == "redis-server"
    assert pairs.get("--maxmemory-policy") == "noeviction"
    assert pairs.get("--appendonly") == "yes"
    assert pairs.get("--appendfsync") == "everysec"


@pytest.mark.parametrize("path", [DEV, PROD], ids=["dev", "prod"])
def test_app_services_use_the_project_image(path: Path) -> None:
    for name, svc in services(path).items():
        if is_app(svc):
            assert svc["build"]["dockerfile"] == "deploy/Dockerfile", name
            assert svc.get("init") is True, f"{name}: without an init, ffmpeg zombies pile up"


# --------------------------------------------------------------------------------------------
# production only
# --------------------------------------------------------------------------------------------


def test_prod_has_no_plaintext_secret_defaults() -> None:
    raw = PROD.read_text()
    assert secret_violations(load(PROD), raw) == []
    # the secrets the app cannot start without are required by compose itself
    env = environment(services(PROD)["api"])
    for key in ("MAMC_SECRET_KEY", "MAMC_FLOWER_PASSWORD"):
        assert REQUIRED_ONLY.match(env[key]), key
    assert REQUIRED_ONLY.match(environment(services(PROD)["postgres"])["POSTGRES_PASSWORD"])
    # secrets that are not listed come from the env file
    for name, svc in services(PROD).items():
        if is_app(svc):
            assert svc.get("env_file"), f"{name}: optional secrets (ABS token, ...) need an env_file"
    assert environment(services(PROD)["api"])["MAMC_ENV"] == "prod"


def test_secret_checker_catches_plaintext_and_defaults() -> None:
    """The checker above must be able to fail: feed it the mistakes it exists to catch."""
    raw = textwrap.dedent(
        """
        services:
          api:
            environment:
              MAMC_SECRET_KEY: changeme
              MAMC_ABS_TOKEN: ${MAMC_ABS_TOKEN:-abc}
              MAMC_DATABASE_URL: postgresql://u:${PG_PASSWORD-pw}@db/x
              MAMC_FLOWER_PASSWORD: ${MAMC_FLOWER_PASSWORD:?required}
          db:
            environment: ["POSTGRES_PASSWORD=hunter2"]
        """
    )
    problems = secret_violations(yaml.safe_load(raw), raw)
    joined = "\n".join(problems)
    for needle in ("MAMC_SECRET_KEY", "MAMC_ABS_TOKEN", "PG_PASSWORD", "POSTGRES_PASSWORD"):
        assert needle in joined, f"checker missed {needle}: {problems}"
    assert "MAMC_FLOWER_PASSWORD" not in joined


def test_prod_services_are_supervised_and_bounded() -> None:
    for name, svc in services(PROD).items():
        one_shot = name == "migrate"
        assert svc.get("restart") == ("no" if one_shot else "unless-stopped"), name
        check = svc.get("healthcheck") or {}
        if one_shot:
            assert check.get("disable") is True, "migrate must not inherit the image's API health check"
        else:
            assert check.get("test") and not check.get("disable"), f"{name}: no health check"
            assert check.get("interval") and check.get("retries"), name
        logging = svc.get("logging") or {}
        assert logging.get("driver") == "json-file", f"{name}: logs need rotation"
        assert logging.get("options", {}).get("max-size") and logging.get("options", {}).get("max-file"), name
        limits = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        assert limits.get("cpus") and limits.get("memory"), f"{name}: no resource limits"


def test_prod_datastores_are_not_exposed() -> None:
    svcs = services(PROD)
    networks = load(PROD)["networks"]
    for name in ("postgres", "redis"):
        assert not svcs[name].get("ports"), f"{name} must not publish a port in production"
        for net in svcs[name]["networks"]:
            assert networks[net].get("internal") is True, f"{name} is on a routable network {net}"
    for port in svcs["api"]["ports"] + svcs["flower"]["ports"]:
        assert not str(port).startswith("0.0.0.0"), port


def test_prod_workers_have_their_own_health_check() -> None:
    """The image's HEALTHCHECK probes the API port; a worker inheriting it would never be healthy."""
    for name, svc in workers(services(PROD)).items():
        test = " ".join(svc["healthcheck"]["test"])
        assert "/healthz" not in test and "ping" in test, name
        assert svc.get("stop_grace_period"), f"{name}: SIGKILL after 10 s would lose running tasks"


# --------------------------------------------------------------------------------------------
# image and CI
# --------------------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Instructions per stage as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    args: dict[str, str] = {}
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "ARG" and not stages and "=" in rest:
            key, _, value = rest.partition("=")
            args[key] = value
        if instruction == "FROM":
            rest = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), rest)
            stages.append([])
        if stages:
            stages[-1].append((instruction, rest))
    return stages


def test_dockerfile_is_multi_stage_and_ends_unprivileged() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "builder + runtime"
    final = stages[-1]
    assert final[0][1].startswith("python:3.11-slim"), final[0]
    users = [rest for ins, rest in final if ins == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), f"final USER is {users}"
    assert any(ins == "HEALTHCHECK" and "/healthz" in rest for ins, rest in final)
    assert any(ins == "RUN" and "ffmpeg" in rest for ins, rest in final), "ffmpeg in the runtime image"
    assert any(ins == "COPY" and "--from=builder" in rest for ins, rest in final)
    assert not any(ins == "RUN" and "uv " in rest for ins, rest in final), "uv belongs to the builder"
    builder_runs = " ".join(rest for stage in stages[:-1] for ins, rest in stage if ins == "RUN")
    assert "uv sync --frozen --no-dev" in builder_runs


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    patterns = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".env.*", ".git", ".venv", "data/"} <= patterns
    assert "!README.md" in patterns or "*.md" not in patterns, "the build backend reads README.md"


def test_ci_script_is_strict_bash() -> None:
    script = ROOT / ".ci" / "run"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert script.stat().st_mode & 0o111, ".ci/run must be executable"
    assert "uv sync --frozen" in text and "make test" in text
    bash = shutil.which("bash")
    if bash is not None:
        subprocess.run([bash, "-n", str(script)], check=True)
