"""The compose deployment cannot run here (no Docker engine): its files are checked instead.

docker-compose.yml is validated against the compose specification; its paths, settings, start
order, roles and the celery profile are checked for consistency; the Dockerfile is held to what
`make setup` does for a checkout.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT / "docker-compose.yml"
DOCKERFILE = PROJECT / "Dockerfile"
AIRFLOW_IMAGE_SERVICES = ("check-env", "init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker")
AFTER_INIT = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker", "superset")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|_KEY|TOKEN|_AUTH)$")
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
# The modules the compose file runs with `python -m`: each must exist in include/.
MODULES_CALLED = ("konvergensi.db", "konvergensi.deployment", "konvergensi.roles")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def env_example() -> dict[str, str]:
    settings = {}
    for number, line in enumerate((PROJECT / ".env.example").read_text().splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            assert "=" in line, f".env.example line {number} is not NAME=value: {line!r}"
            name, value = line.split("=", 1)
            settings[name.strip()] = value.strip()
    return settings


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(
        line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")
    ))
    return [tuple(line.strip().split(None, 1)) for line in joined.splitlines() if line.strip()]  # type: ignore[misc]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(arguments))
    return env


def dockerfile_copies() -> dict[str, str]:
    """COPY source → destination."""
    copies = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction == "COPY":
            parts = [part for part in shlex.split(arguments) if not part.startswith("--")]
            copies[parts[0]] = parts[1]
    return copies


def makefile_exports() -> dict[str, str]:
    exports = {}
    for line in (PROJECT / "Makefile").read_text().splitlines():
        match = re.fullmatch(r"export (\w+) [:?]?= (.*)", line)
        if match:
            exports[match[1]] = match[2].strip()
    return exports


def depends_on(service: dict) -> dict[str, str]:
    """Dependency → condition (the list form means service_started)."""
    dependencies = service.get("depends_on", {})
    if isinstance(dependencies, list):
        return {name: "service_started" for name in dependencies}
    return {name: spec.get("condition", "service_started") for name, spec in dependencies.items()}


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def plain(value: str) -> str:
    """`${NAME:?message}` and `${NAME:-default}` as `${NAME}`, so that URLs holding them parse."""
    return VARIABLE.sub(lambda match: "${" + match[1] + "}", value)


def url(value: str):  # noqa: ANN201 - a urllib ParseResult
    return urlparse(plain(value))


# --- the compose specification ----------------------------------------------------------------


def _check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / "check-jsonschema"
    assert tool.exists(), f"{tool} missing: check-jsonschema is pinned in requirements.txt (make setup installs it)"
    return subprocess.run(
        [str(tool), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=60,
    )


def test_compose_file_validates_against_the_compose_specification() -> None:
    result = _check_jsonschema(COMPOSE_FILE)
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_the_validation_rejects_a_file_breaking_the_specification(tmp_path: Path) -> None:
    broken = yaml.safe_load(COMPOSE_FILE.read_text())
    broken["services"]["warehouse"]["depends_on"] = {"check-env": {"condition": "service_finished"}}
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    result = _check_jsonschema(path)
    assert result.returncode != 0
    assert "service_finished" in result.stdout + result.stderr


# --- paths ---------------------------------------------------------------------------------------


def test_every_mounted_path_and_named_volume_exists(compose: dict, services: dict) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (PROJECT / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in compose["volumes"], f"{name} uses the undeclared volume {source}"


def test_every_build_context_dockerfile_and_copied_path_exists(services: dict) -> None:
    built = {name: service["build"] for name, service in services.items() if "build" in service}
    assert set(built) == set(AIRFLOW_IMAGE_SERVICES)
    for name, build in built.items():
        context = PROJECT / build["context"]
        assert context.is_dir(), f"{name}: build context {build['context']} missing"
        assert (context / build.get("dockerfile", "Dockerfile")).is_file(), f"{name}: Dockerfile missing"
    for source in dockerfile_copies():
        assert (PROJECT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    ignored = (PROJECT / ".dockerignore").read_text().split()
    for local_data in (".venv", ".data", ".env", "dbt_project/target", "expectations/uncommitted"):
        assert local_data in ignored, f".dockerignore must keep {local_data} out of the image"


def test_superset_bootstrap_files_exist(services: dict) -> None:
    superset = services["superset"]
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in superset["volumes"] if volume.startswith(".")}
    config = environment(superset)["SUPERSET_CONFIG_PATH"]
    script = superset["command"][-1]
    for in_container in (config, script):
        directory, file_name = in_container.rsplit("/", 1)
        assert directory in mounted, f"superset: {in_container} is not in a mounted directory"
        assert (PROJECT / mounted[directory] / file_name).is_file(), f"superset: {in_container} missing"


@pytest.mark.parametrize("module", MODULES_CALLED)
def test_every_module_the_compose_file_runs_exists(module: str) -> None:
    path = PROJECT / "include" / Path(*module.split("."))
    assert path.with_suffix(".py").is_file() or (path / "__main__.py").is_file(), (
        f"docker-compose.yml runs `python -m {module}`, which is not in include/"
    )


def test_the_compose_file_runs_exactly_the_listed_modules() -> None:
    called = set(re.findall(r"python\"?,? \"?-m\"?,? \"?([\w.]+)", COMPOSE_FILE.read_text()))
    assert called == set(MODULES_CALLED)


# --- settings and secrets --------------------------------------------------------------------------


def test_every_variable_the_compose_file_uses_is_in_env_example() -> None:
    used = {match[0] for match in VARIABLE.findall(COMPOSE_FILE.read_text())}
    provided = env_example()
    assert used - set(provided) == set(), "variables used by docker-compose.yml but missing from .env.example"
    assert set(provided) - used == set(), "settings in .env.example that docker-compose.yml never uses"


def test_secrets_have_no_literal_value_and_no_default(services: dict) -> None:
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and value:
                assert value.startswith("${"), f"{name}: {key} has a literal value"
            parsed = url(value)
            if parsed.scheme and parsed.password:
                assert re.fullmatch(r"\$\{\w+\}", parsed.password), f"{name}: {key} has a literal password"
    for variable, operator, default in VARIABLE.findall(COMPOSE_FILE.read_text()):
        if SECRET_NAME.search(variable) and operator.endswith("-"):
            assert default == "", f"${{{variable}}} has a default value in docker-compose.yml"


def test_env_example_secrets_are_placeholders() -> None:
    settings = env_example()
    secrets = {name for name in settings if SECRET_NAME.search(name)}
    assert secrets >= {"WAREHOUSE_SUPERUSER_PASSWORD", "KONVERGENSI_PSEUDONYM_KEY", "AIRFLOW_FERNET_KEY"}
    for name in secrets:
        assert settings[name] in ("CHANGE_ME", ""), f".env.example: {name} must be CHANGE_ME (or empty if optional)"


def test_required_settings_stop_compose_when_missing() -> None:
    """Every setting without which the stack cannot run is `${NAME:?message}` at least once."""
    from konvergensi.deployment import REQUIRED

    required = {variable for variable, operator, _ in VARIABLE.findall(COMPOSE_FILE.read_text()) if operator == ":?"}
    assert set(REQUIRED) <= required, sorted(set(REQUIRED) - required)


# --- start order -----------------------------------------------------------------------------------


def test_depends_on_targets_exist_with_valid_healthchecks(services: dict) -> None:
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on the unknown service {target}"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} to be healthy, it has no healthcheck"
            default_profile = not service.get("profiles")
            if default_profile:
                assert not services[target].get("profiles"), f"{name} (always started) depends on {target} of a profile"


def test_the_check_and_init_jobs_gate_every_other_service(services: dict) -> None:
    assert depends_on(services["check-env"]) == {}
    for name in services:
        if name != "check-env":
            assert depends_on(services[name]).get("check-env") == "service_completed_successfully" or (
                depends_on(services[name]).get("init") == "service_completed_successfully"
            ), f"{name} starts without waiting for check-env or init"
    for name in AFTER_INIT:
        assert depends_on(services[name])["init"] == "service_completed_successfully", name
    init = depends_on(services["init"])
    assert init["warehouse"] == init["airflow-db"] == "service_healthy"
    assert init["check-env"] == "service_completed_successfully"
    for job in ("check-env", "init"):
        assert services[job]["restart"] == "no", f"{job} is a one-off job"


def test_init_job_runs_the_deployment_steps_in_order(services: dict) -> None:
    script = services["init"]["command"][-1]
    steps = [
        "python -m konvergensi.db migrate",
        "python -m konvergensi.roles apply",
        "dbt parse",
        "airflow db migrate",
        "python -m konvergensi.deployment airflow-passwords",
    ]
    positions = [script.find(step) for step in steps]
    assert -1 not in positions, dict(zip(steps, positions, strict=True))
    assert positions == sorted(positions)
    assert services["init"]["command"][:3] == ["bash", "-euo", "pipefail"], "a failed step must fail the job"
    assert services["check-env"]["command"] == ["python", "-m", "konvergensi.deployment", "check-env"]


# --- roles -----------------------------------------------------------------------------------------


def _user(value: str) -> str:
    return url(value).username or ""


def test_services_reach_the_warehouse_as_least_privileged_roles(services: dict) -> None:
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker"):
        env = environment(services[name])
        assert env["KONVERGENSI_LOADER_PASSWORD"] == "${KONVERGENSI_LOADER_PASSWORD:?set KONVERGENSI_LOADER_PASSWORD in .env}", name
        assert env["KONVERGENSI_TRANSFORMER_PASSWORD"].startswith("${KONVERGENSI_TRANSFORMER_PASSWORD"), name
        assert _user(env["WAREHOUSE_URL"]) == "konvergensi_transformer", name
        assert env["DBT_PG_USER"] == "konvergensi_transformer", name
        assert env["DBT_PG_PASSWORD"] == "${KONVERGENSI_TRANSFORMER_PASSWORD}", name
    assert _user(environment(services["superset"])["SUPERSET_WAREHOUSE_URI"]) == "konvergensi_bi"
    assert _user(environment(services["init"])["WAREHOUSE_URL"]) == "postgres"


def test_the_superuser_password_reaches_only_the_jobs_and_the_database(services: dict) -> None:
    holders = {
        name for name, service in services.items()
        if any("WAREHOUSE_SUPERUSER_PASSWORD" in value for value in environment(service).values())
    }
    assert holders == {"check-env", "warehouse", "init"}


def test_images_are_pinned_to_the_tested_versions(services: dict) -> None:
    pins = dict(line.split("==") for line in (PROJECT / "requirements.txt").read_text().splitlines() if "==" in line)
    assert dockerfile_instructions()[0] == ("FROM", f"apache/airflow:{pins['apache-airflow']}-python3.11")
    assert re.fullmatch(r"postgres:18\.\d+", services["warehouse"]["image"])
    assert re.fullmatch(r"postgres:18\.\d+", services["airflow-db"]["image"])
    assert re.fullmatch(r"apache/superset:6\.1\.\d+", services["superset"]["image"])
    assert re.fullmatch(r"redis:\d+\.\d+[\w.-]*", services["redis"]["image"])


# --- the Dockerfile mirrors `make setup` -----------------------------------------------------------


def test_dockerfile_installs_the_same_requirements_and_parses_dbt() -> None:
    copies = dockerfile_copies()
    runs = [arguments for instruction, arguments in dockerfile_instructions() if instruction == "RUN"]
    makefile = (PROJECT / "Makefile").read_text()
    assert "pip install --quiet -r requirements.txt" in makefile
    assert any(f"pip install --no-cache-dir -r {copies['requirements.txt']}" in run for run in runs)
    assert "dbt parse --quiet" in makefile
    assert any(f"cd {copies['dbt_project']} && dbt parse --quiet" in run for run in runs)
    for part in ("dags", "include", "dbt_project", "expectations"):
        assert part in copies, f"the image lacks the project's {part}/"
    pip_install = next(index for index, run in enumerate(runs) if "pip install" in run)
    dbt_parse = next(index for index, run in enumerate(runs) if "dbt parse" in run)
    assert pip_install < dbt_parse


def test_dockerfile_sets_the_makefile_exports() -> None:
    env = dockerfile_env()
    copies = dockerfile_copies()
    exports = makefile_exports()
    flags = {name: value for name, value in exports.items() if "$" not in value}
    assert {"DO_NOT_TRACK", "AIRFLOW__COSMOS__ENABLE_TELEMETRY", "GX_ANALYTICS_ENABLED", "DBT_SEND_ANONYMOUS_USAGE_STATS"} <= set(flags)
    for name, value in flags.items():
        assert env.get(name) == value, f"Dockerfile: ENV {name} must be {value}, as the Makefile exports it"
    project_paths = {name: value.removeprefix("$(CURDIR)/") for name, value in exports.items() if value.startswith("$(CURDIR)/")}
    assert {"PYTHONPATH": "include", "AIRFLOW__CORE__DAGS_FOLDER": "dags"}.items() <= project_paths.items()
    for name, relative in project_paths.items():
        if relative in copies:
            assert env.get(name) == copies[relative], f"Dockerfile: ENV {name} must point at the copied {relative}/"
    assert env["DBT_PROFILES_DIR"] == copies["dbt_project"]


def test_compose_does_not_override_the_images_flags(services: dict) -> None:
    image_env = dockerfile_env()
    for name in AIRFLOW_IMAGE_SERVICES:
        for key, value in environment(services[name]).items():
            if key in image_env:
                assert value == image_env[key], f"{name} overrides the image's {key}"


# --- the celery profile ----------------------------------------------------------------------------


def test_celery_profile_adds_redis_and_scalable_workers_with_the_celery_executor(services: dict) -> None:
    in_profile = {name for name, service in services.items() if "celery" in service.get("profiles", [])}
    assert in_profile == {"redis", "airflow-worker"}
    worker = services["airflow-worker"]
    assert environment(worker)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert "airflow celery worker" in worker["command"][-1]
    assert "container_name" not in worker and "ports" not in worker, "a fixed name or port prevents --scale"
    assert depends_on(worker)["redis"] == "service_healthy"
    scheduler = environment(services["airflow-scheduler"])
    assert scheduler["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    assert url(scheduler["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
    task_volumes = {volume.split(":")[1] for volume in services["airflow-scheduler"]["volumes"]}
    assert task_volumes <= {volume.split(":")[1] for volume in worker["volumes"]}, "workers run the same tasks"


def test_a_worker_refuses_to_start_while_the_scheduler_keeps_the_local_executor(services: dict) -> None:
    script = services["airflow-worker"]["command"][-1].replace("$$", "$")
    for executor, expected in (("LocalExecutor", 1), ("CeleryExecutor", None)):
        guard = script.replace("exec airflow celery worker", "exit 0")
        result = subprocess.run(["bash", "-c", guard], env={"AIRFLOW_EXECUTOR": executor}, capture_output=True, text=True)
        if expected:
            assert result.returncode == expected and "AIRFLOW_EXECUTOR=CeleryExecutor" in result.stderr
        else:
            assert result.returncode == 0, result.stderr


def test_requirements_pin_the_tested_stack() -> None:
    pins = dict(
        line.split("==")
        for line in (PROJECT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert pins["apache-airflow"] == "3.3.2"
    assert pins["dbt-core"] == "1.11.16"
    assert pins["great-expectations"] == "1.24.1"
    assert pins["check-jsonschema"] == "0.39.0"
    assert all(version.strip() for version in pins.values())


def test_the_shell_scripts_of_the_stack_parse(services: dict) -> None:
    scripts = {
        "deploy/superset/bootstrap.sh": (PROJECT / "deploy" / "superset" / "bootstrap.sh").read_text(),
        "init": services["init"]["command"][-1].replace("$$", "$"),
        "airflow-worker": services["airflow-worker"]["command"][-1].replace("$$", "$"),
    }
    for name, script in scripts.items():
        result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        assert result.returncode == 0, f"{name}: {result.stderr}"
    assert scripts["deploy/superset/bootstrap.sh"].startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in scripts["deploy/superset/bootstrap.sh"]
    assert 'set-database-uri --database_name "Konvergensi BI" --uri "${SUPERSET_WAREHOUSE_URI}"' in scripts[
        "deploy/superset/bootstrap.sh"
    ]


def test_the_deployment_guide_names_every_service_and_volume(compose: dict) -> None:
    guide = (PROJECT / "docs" / "deployment.md").read_text()
    for name in (*compose["services"], *compose["volumes"]):
        assert f"`{name}`" in guide, f"docs/deployment.md does not mention {name}"
