"""deploy/k8s/values.yaml against the official Dagster chart's values.schema.json, vendored in
deploy/k8s/dagster-chart/ with its source commit (SOURCE.md).

Helm checks the schema against the chart's defaults merged with the values file. The defaults
are not vendored, so the file is checked as an overlay: every key it sets must exist in the
schema with the right type, enum and shape (``additionalProperties: false`` catches a typo),
and only ``required`` is left to the merge. The schema's Kubernetes types point at
kubernetesjsonschema.dev; offline, those ``$ref``s are dropped and their own keywords (type
object, string values) kept.
"""

import copy
import json

import pytest
import yaml
from jsonschema import Draft7Validator

from mlops_assets.settings import project_dir

K8S = project_dir() / "deploy" / "k8s"
SCHEMA = K8S / "dagster-chart" / "values.schema.json"
REMOTE = "https://kubernetesjsonschema.dev/"


def overlay_schema(node):
    """The schema without ``required`` and without remote ``$ref``s, recursively."""
    if isinstance(node, dict):
        return {
            key: overlay_schema(value)
            for key, value in node.items()
            if key != "required" and not (key == "$ref" and str(value).startswith(REMOTE))
        }
    if isinstance(node, list):
        return [overlay_schema(item) for item in node]
    return node


def problems(values: dict) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    found = [f"unknown top-level key {key!r}" for key in values if key not in schema["properties"]]
    validator = Draft7Validator(overlay_schema(schema))
    for error in validator.iter_errors(values):
        # An `anyOf` (a value or null) says only "not valid under any": its branches say why.
        for cause in [error, *error.context]:
            where = ".".join(str(part) for part in cause.absolute_path)
            found.append(f"{where}: {cause.message}")
    return found


def values() -> dict:
    return yaml.safe_load((K8S / "values.yaml").read_text())


def test_the_vendored_schema_is_the_recorded_file():
    source = (K8S / "dagster-chart" / "SOURCE.md").read_text()
    text = SCHEMA.read_text()

    assert "bdb8547fab497826eeec292bc160b549a0a329ef" in source
    assert len(text) == 100951 and f"{len(text)} characters" in source
    assert json.loads(text)["title"] == "DagsterHelmValues"


def test_the_helm_values_match_the_official_chart_schema():
    assert problems(values()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda v: v["runLauncher"].update(type="K8sLauncher"), "runLauncher.type: 'K8sLauncher'"),
        (
            lambda v: v["dagsterDaemon"].update(heartbeatTolerence=300),
            "dagsterDaemon: Additional properties are not allowed ('heartbeatTolerence' was",
        ),
        (
            lambda v: v["dagster-user-deployments"]["deployments"][0].update(port="4000"),
            "dagster-user-deployments.deployments.0.port: '4000' is not of type 'integer'",
        ),
        (
            lambda v: v["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"][
                "tagConcurrencyLimits"
            ][0].update(limits=1),
            "Additional properties are not allowed ('limits' was unexpected)",
        ),
        (lambda v: v.update(dagsterWebServer={}), "unknown top-level key 'dagsterWebServer'"),
    ],
)
def test_the_schema_check_catches_a_wrong_key_type_or_value(change, expected):
    broken = copy.deepcopy(values())
    change(broken)

    assert any(expected in problem for problem in problems(broken)), problems(broken)
