"""The compose files: each alone and each merge docs/production.md runs is valid Compose (Debian's docker-compose merges
and interpolates them, check-jsonschema holds the result to the current Compose Specification schema), and the
production merge is what it promises: secrets only from .env.prod, no source mounts, restart policies.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deployment import REPO, require

BASE, OVERRIDE, PROD = "docker-compose.yml", "docker-compose.override.yml", "docker-compose.prod.yml"
ENV_EXAMPLE = REPO / ".env.prod.example"
SERVICES = {
    "auth-db",
    "auth-redis",
    "movies-db",
    "movies-redis",
    "auth",
    "movies-api",
    "nginx",
    "prometheus",
    "grafana",
}
# Development also runs Jaeger, to receive every trace.
DEV_SERVICES = SERVICES | {"jaeger", "mailpit"}


def filled_env_file(path: Path, *, without: str | None = None) -> Path:
    """.env.prod.example with every blank secret filled in (and optionally one variable left out)."""
    lines = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        name, separator, value = line.partition("=")
        if line.startswith("#") or not separator:
            continue
        if name != without:
            lines.append(f"{name}={value or 'a' * 40}")
    path.write_text("\n".join(lines) + "\n")
    return path


def compose_config(*files: str, env_file: Path | None = None) -> subprocess.CompletedProcess:
    command = [require("docker-compose"), "--project-directory", str(REPO)]
    if env_file:
        command += ["--env-file", str(env_file)]
    for name in files:
        command += ["-f", str(REPO / name)]
    # Only what the test passes: nothing from the caller's environment may fill a variable.
    env = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG")}
    return subprocess.run([*command, "config"], env=env, capture_output=True, text=True, timeout=60, check=False)


def validate_against_compose_spec(path: Path) -> None:
    check = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)]
    done = subprocess.run(check, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", [BASE, OVERRIDE, PROD])
def test_each_file_follows_the_compose_specification(name):
    validate_against_compose_spec(REPO / name)


@pytest.mark.parametrize(
    ("files", "needs_env"),
    [((BASE,), False), ((BASE, OVERRIDE), False), ((BASE, PROD), True)],
    ids=["base", "dev", "prod"],
)
def test_each_merge_is_valid_compose(tmp_path, files, needs_env):
    done = compose_config(*files, env_file=filled_env_file(tmp_path / ".env.prod") if needs_env else None)
    assert done.returncode == 0, done.stderr
    merged = tmp_path / "merged.yml"
    merged.write_text(done.stdout)
    validate_against_compose_spec(merged)
    assert set(yaml.safe_load(done.stdout)["services"]) == (DEV_SERVICES if OVERRIDE in files else SERVICES)


def variables_of_the_example() -> list[str]:
    return [line.partition("=")[0] for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"[A-Z_]+=", line)]


@pytest.mark.parametrize("variable", variables_of_the_example())
def test_production_refuses_to_start_without_any_one_variable(tmp_path, variable):
    done = compose_config(BASE, PROD, env_file=filled_env_file(tmp_path / ".env.prod", without=variable))
    assert done.returncode != 0
    assert f"set {variable} in .env.prod" in done.stderr


def test_every_variable_production_requires_is_documented_in_the_example():
    # `${X:?...}` refuses an unset or empty X, `${X?...}` an unset one only.
    required = set(re.findall(r"\$\{([A-Z_]+):?\?", (REPO / PROD).read_text()))
    assert required == set(variables_of_the_example())
    text = ENV_EXAMPLE.read_text()
    for variable in required:  # each one comes with a comment right above it
        before = text[: text.index(f"\n{variable}=")].splitlines()
        assert any(line.startswith("#") for line in before[-3:]), variable


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict:
    env_file = filled_env_file(tmp_path_factory.mktemp("prod") / ".env.prod")
    done = compose_config(BASE, PROD, env_file=env_file)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)["services"]


def test_production_mounts_no_source_and_restarts_everything(production):
    for name, service in production.items():
        assert service["restart"] == "unless-stopped", name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            assert not source.startswith(str(REPO)), f"{name} mounts {source}"
        assert "command" not in service or service["command"][0] != "flask", name


def test_production_runs_in_production_mode_behind_tls(production):
    assert production["auth"]["environment"]["APP_ENV"] == "production"
    assert production["movies-api"]["environment"]["APP_ENV"] == "production"
    assert production["nginx"]["environment"]["NGINX_MODE"] == "production"
    assert sorted(port["target"] for port in production["nginx"]["ports"]) == [80, 443]
    assert str(production["auth"]["environment"]["TRUSTED_PROXIES"]) == "1"


def test_development_catches_mail_in_mailpit(tmp_path):
    done = compose_config(BASE, OVERRIDE)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert services["auth"]["environment"]["SMTP_URL"] == "smtp://mailpit:1025"
    # compose v1 prints short port syntax, v2 the long one
    targets = [
        p["target"] if isinstance(p, dict) else int(p.rsplit(":", 1)[-1].split("/")[0])
        for p in services["mailpit"]["ports"]
    ]
    assert targets == [8025]
    assert services["auth"]["command"][0] == "gunicorn"  # whose workers run the mail sender


def test_revocations_persist_and_are_never_evicted(production):
    command = production["auth-redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(
        volume.endswith(":/data:rw") or volume.endswith(":/data") for volume in production["auth-redis"]["volumes"]
    )


def test_services_start_only_after_what_they_need_is_healthy(production):
    def healthy(name: str) -> set[str]:
        return {need for need, how in production[name]["depends_on"].items() if how["condition"] == "service_healthy"}

    assert healthy("auth") == {"auth-db", "auth-redis"}
    assert healthy("movies-api") == {"movies-db", "movies-redis"}
    assert healthy("nginx") == {"auth", "movies-api"}
    for store in ("auth-db", "auth-redis", "movies-db", "movies-redis"):
        assert production[store]["healthcheck"]["test"], store


@pytest.mark.parametrize("service", ["movies_auth", "movies_async_api"])
def test_each_image_installs_dependencies_before_the_code_runs_unprivileged_and_checks_its_health(service):
    dockerfile = (REPO / service / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", dockerfile, re.M).group(1)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base), base
    copy_code = re.search(r"^COPY (\S+/)?src/ src/$", dockerfile, re.M)
    assert copy_code and dockerfile.index("pip install -r") < copy_code.start()
    assert re.search(r"^USER app$", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile
    assert 'ENTRYPOINT ["./docker-entrypoint.sh"]' in dockerfile
    assert '"gunicorn", "-c", "gunicorn.conf.py"' in dockerfile
