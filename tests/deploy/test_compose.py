"""The production docker-compose.yml, read the way an operator would check it.

`docker-compose config` validates the file and prints it with variables
interpolated and anchors expanded; it needs no Docker engine. The tests read
that output rather than the source file, so they see what compose would run.
"""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SECRET = "compose-test-secret-not-for-production"

EXPECTED_SERVICES = {
    "temporal-db",
    "temporal-schema",
    "temporal-namespace",
    "temporal",
    "temporal-ui",
    "app-db",
    "migrate",
    "web",
    "worker",
    "mailpit",
}
# Containers that run once and must exit 0 before what depends on them starts.
ONE_SHOT = {"temporal-schema", "temporal-namespace", "migrate"}


def _docker_compose() -> str:
    found = "/usr/bin/docker-compose"
    if not Path(found).exists():
        found = shutil.which("docker-compose") or ""
    if not found:
        pytest.fail(
            "docker-compose is not installed; run `apt-get install docker-compose`"
            " (CI installs it) to check docker-compose.yml"
        )
    return found


def _run_config(secret: str | None, env_file: Path) -> subprocess.CompletedProcess[str]:
    # Only what compose needs from this environment, and an empty env file in
    # place of a .env next to docker-compose.yml, so that an operator's
    # settings cannot change what is checked.
    env = {
        key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ
    }
    if secret is not None:
        env["SECRET_KEY"] = secret
    return subprocess.run(
        [
            _docker_compose(),
            "--env-file",
            str(env_file),
            "-f",
            str(COMPOSE_FILE),
            "config",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def empty_env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return path


@pytest.fixture(scope="module")
def config(empty_env_file: Path) -> dict[str, Any]:
    result = _run_config(SECRET, empty_env_file)
    assert result.returncode == 0, (
        f"docker-compose config failed ({result.returncode}):\n{result.stderr}"
    )
    parsed = yaml.safe_load(result.stdout)
    assert isinstance(parsed, dict)
    return parsed


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = config["services"]
    assert isinstance(found, dict)
    return found


def _env(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Each dependency with its condition (service_started when not given)."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {
        name: (options or {}).get("condition", "service_started")
        for name, options in raw.items()
    }


def _host_ports(service: dict[str, Any]) -> list[str]:
    """The published host ports of a service, whatever the syntax."""
    published = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            if port.get("published") is not None:
                published.append(str(port["published"]))
        else:
            parts = str(port).split(":")
            if len(parts) > 1:
                published.append(parts[-2])
    return published


def _command(service: dict[str, Any]) -> str:
    command = service.get("command") or []
    return command if isinstance(command, str) else " ".join(map(str, command))


def test_every_service_is_defined(services: dict[str, dict[str, Any]]) -> None:
    missing = EXPECTED_SERVICES - services.keys()
    assert not missing, f"services missing from docker-compose.yml: {missing}"


def test_no_deprecated_auto_setup_image(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        image = str(service.get("image", ""))
        assert "temporalio/auto-setup" not in image, name


def test_third_party_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        image = str(service["image"])
        repository, _, tag = image.rpartition(":")
        assert repository and tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"
    server_tag = services["temporal"]["image"].rpartition(":")[2]
    for job in ("temporal-schema", "temporal-namespace"):
        image = services[job]["image"]
        assert image.startswith("temporalio/admin-tools:"), job
        assert image.rpartition(":")[2] == server_tag, (
            f"{job} must use the admin tools of the server's version {server_tag}"
        )
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")


def test_app_services_share_image_and_environment(
    services: dict[str, dict[str, Any]],
) -> None:
    web = services["web"]
    assert "build" in web and "image" in web
    for name in ("worker", "migrate"):
        other = services[name]
        assert other.get("build") == web["build"], name
        assert other.get("image") == web["image"], name
        assert _env(other) == _env(web), name


def test_app_environment(services: dict[str, dict[str, Any]]) -> None:
    env = _env(services["web"])
    assert env["WUYE_ENV"] == "production"
    assert env["SECRET_KEY"] == SECRET
    assert "@app-db:5432/" in env["DATABASE_URL"]
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["TEMPORAL_NAMESPACE"] == "default"
    assert env["TEMPORAL_TASK_QUEUE"]
    assert env["SMTP_HOST"] == "mailpit"
    assert env["SMTP_PORT"] == "1025"
    for key in ("SMTP_FROM", "SESSION_COOKIE_SECURE", "PUBLIC_BASE_URL"):
        assert env[key], key


def test_missing_secret_key_is_refused(empty_env_file: Path) -> None:
    result = _run_config(None, empty_env_file)
    assert result.returncode != 0, "compose accepted a missing SECRET_KEY"
    assert "SECRET_KEY" in result.stderr + result.stdout


def test_worker_can_be_scaled(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker
    assert not _host_ports(worker), "a fixed host port stops --scale worker=N"
    assert "wuye worker" in _command(worker)


def test_web_serves_on_8000_behind_a_proxy(
    services: dict[str, dict[str, Any]],
) -> None:
    web = services["web"]
    command = _command(web)
    assert command.startswith("uvicorn api.main:app")
    assert "--host 0.0.0.0" in command
    assert "--port 8000" in command
    assert "--proxy-headers" in command
    assert "8000" in _host_ports(web)


def test_every_dependency_exists(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for target in _depends_on(service):
            assert target in services, f"{name} depends on unknown {target}"


def test_start_up_order(services: dict[str, dict[str, Any]]) -> None:
    healthy, done = "service_healthy", "service_completed_successfully"
    for name in ("temporal-db", "app-db", "temporal"):
        assert services[name].get("healthcheck", {}).get("test"), name
    assert _depends_on(services["temporal-schema"]) == {"temporal-db": healthy}
    assert _depends_on(services["temporal"])["temporal-schema"] == done
    assert _depends_on(services["temporal-namespace"])["temporal"] == healthy
    assert _depends_on(services["migrate"])["app-db"] == healthy
    for name in ("web", "worker"):
        depends = _depends_on(services[name])
        assert depends["migrate"] == done, name
        assert depends["temporal"] == healthy, name
        assert depends["temporal-namespace"] == done, name


def test_one_shot_jobs_are_not_restarted(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ONE_SHOT:
        assert services[name].get("restart") == "no", name


def test_temporal_uses_temporal_db(services: dict[str, dict[str, Any]]) -> None:
    server = _env(services["temporal"])
    assert server["DB"] == "postgres12"
    assert server["POSTGRES_SEEDS"] == "temporal-db"
    assert server["DB_PORT"] == "5432"
    assert server["BIND_ON_IP"] == "0.0.0.0"
    assert server["POSTGRES_PWD"] == _env(services["temporal-db"])["POSTGRES_PASSWORD"]

    schema = _env(services["temporal-schema"])
    assert schema["SQL_PLUGIN"] == "postgres12"
    assert schema["SQL_HOST"] == "temporal-db"
    script = _command(services["temporal-schema"])
    for database, directory in (
        ("temporal", "temporal/versioned"),
        ("temporal_visibility", "visibility/versioned"),
    ):
        assert f"--db {database} create" in script
        assert f"--db {database} setup-schema" in script
        assert f"--db {database} update-schema" in script
        assert directory in script
    assert "/etc/temporal/schema/postgresql/v12" in script


def test_namespace_is_created(services: dict[str, dict[str, Any]]) -> None:
    job = services["temporal-namespace"]
    assert _env(job)["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert _env(job)["NAMESPACE"] == _env(services["web"])["TEMPORAL_NAMESPACE"]
    assert "temporal operator namespace create" in _command(job)


def test_temporal_ui_and_mailpit(services: dict[str, dict[str, Any]]) -> None:
    ui = services["temporal-ui"]
    assert _env(ui)["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert "8080" in _host_ports(ui)
    assert "8025" in _host_ports(services["mailpit"])


def test_databases_keep_their_data(config: dict[str, Any]) -> None:
    volumes = config.get("volumes") or {}
    for name in ("temporal-db", "app-db"):
        mounts = config["services"][name].get("volumes") or []
        named = [str(mount).split(":")[0] for mount in mounts]
        assert any(volume in volumes for volume in named), f"{name} has no named volume"
