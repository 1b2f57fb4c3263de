"""Deployment artefacts: a Docker build context holding the model version and its recorded
libraries; Kubernetes manifests with probes on the OIP v2 health endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.serving import DirectorySource, ServingError
from tether.serving.deploy import docker_context, k8s_manifests, to_yaml
from tether.serving.source import Ref


def test_docker_context_holds_the_model_and_its_libraries(model_root: Path, tmp_path: Path) -> None:
    from tests.serving.conftest import set_alias
    from tether.models import load_model

    set_alias(model_root, "lr", "champion", 2)
    out = tmp_path / "ctx"
    dockerfile = docker_context(Ref.parse("lr@champion"), DirectorySource(model_root), out)
    text = dockerfile.read_text()
    assert text.startswith("FROM python:3.")
    assert '"tether", "serve", "lr@champion", "--from", "/srv/models"' in text
    assert text.rstrip().endswith('"--no-log"]')  # no workspace in the image: nothing logged
    assert not (out / ".tether").exists()
    reqs = (out / "requirements.txt").read_text().split()
    assert reqs[0] == "tether[serve]"
    import sklearn

    assert f"scikit-learn=={sklearn.__version__}" in reqs
    # the folder `tether serve --from` reads: the version and the alias pointing at it
    source = DirectorySource(out / "models")
    assert source.version_of(Ref.parse("lr@champion")) == 2
    assert load_model(source.folder("lr", 2)).flavor == "sklearn"
    with pytest.raises(ServingError, match="not empty"):
        docker_context(Ref.parse("lr@champion"), DirectorySource(model_root), out)


def test_an_image_built_to_log_holds_a_workspace_of_the_project_and_its_stores_extras(
    model_root: Path, tmp_path: Path
) -> None:
    from tether.workspace import Workspace

    out = tmp_path / "ctx"
    dockerfile = docker_context(
        Ref.parse("lr@1"), DirectorySource(model_root), out, log_project='team "a"',
        extras=["s3", "postgres"],
    )  # fmt: skip
    text = dockerfile.read_text()
    assert "COPY --chown=tether .tether/ /srv/.tether/\n" in text
    assert "WORKDIR /srv\n" in text and "--no-log" not in text
    assert (out / "requirements.txt").read_text().split()[0] == "tether[serve,postgres,s3]"
    assert Workspace(out).project == 'team "a"'  # `tether serve` in /srv finds it
    with pytest.raises(ServingError, match="unknown extra mysql"):
        docker_context(Ref.parse("lr@1"), DirectorySource(model_root), tmp_path / "x",
                       extras=["mysql"])  # fmt: skip


def test_k8s_manifests_probe_the_health_endpoints() -> None:
    docs = list(yaml.safe_load_all(to_yaml(k8s_manifests(Ref.parse("Churn@champion"), 3))))
    kinds = [(d["apiVersion"], d["kind"]) for d in docs]
    assert kinds == [
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
        ("serving.kserve.io/v1beta1", "InferenceService"),
    ]
    deployment, service, isvc = docs
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"] == pod["metadata"]["labels"]
    assert service["spec"]["selector"] == pod["metadata"]["labels"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "tether-churn:3"
    port = container["ports"][0]["containerPort"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": port}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": port}
    assert service["spec"]["ports"][0]["targetPort"] == port
    predictor = isvc["spec"]["predictor"]
    assert predictor["minReplicas"] == 0
    assert predictor["containers"][0]["image"] == "tether-churn:3"


# --- the manifests against the Kubernetes API schemas (kubernetes-validate bundles them) ----

DEFS = "/api/_definitions.json#/$defs/"
# KServe's ComponentExtensionSpec: what an InferenceService predictor adds to a PodSpec
KSERVE_EXTENSION = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "minReplicas": {"type": "integer", "minimum": 0},
        "maxReplicas": {"type": "integer", "minimum": 0},
        "scaleTarget": {"type": "integer", "minimum": 1},
        "scaleMetric": {"enum": ["cpu", "memory", "concurrency", "rps"]},
        "containerConcurrency": {"type": "integer", "minimum": 0},
        "timeout": {"type": "integer", "minimum": 0},
        "canaryTrafficPercent": {"type": "integer", "minimum": 0, "maximum": 100},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
INFERENCE_SERVICE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "serving.kserve.io/v1beta1"},
        "kind": {"const": "InferenceService"},
        "metadata": {
            "$ref": DEFS + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "required": ["name"],
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["predictor"],
            "properties": {
                "predictor": {"type": "object", "required": ["containers"]},
                "transformer": {"type": "object"},
                "explainer": {"type": "object"},
            },
        },
    },
}


def _kubernetes_validator(schema: dict[str, object]):  # type: ignore[no-untyped-def]
    """A validator of ``schema`` whose ``$ref``s reach the Kubernetes API definitions that
    kubernetes-validate bundles (its newest version, strict: unknown fields are errors)."""
    import importlib.resources
    import json

    import jsonschema
    from kubernetes_validate.utils import latest_version
    from referencing import Registry, Resource

    folder = importlib.resources.files("kubernetes_validate").joinpath(
        f"kubernetes-json-schema/v{latest_version()}-local-strict"
    )
    defs = Resource.from_contents(json.loads(folder.joinpath("_definitions.json").read_text()))
    # the bundled schemas' $refs are relative to https://kubernetes.io/api/
    schema = {"$id": "https://kubernetes.io/api/tether-check.json", **schema}
    return jsonschema.Draft202012Validator(schema, registry=defs @ Registry())


def _check_inference_service(doc: dict[str, Any]) -> None:
    """KServe's v1beta1 InferenceService: its envelope, then the predictor as a Kubernetes
    PodSpec (containers and all, strict) plus KServe's component fields."""
    _kubernetes_validator(INFERENCE_SERVICE).validate(doc)
    predictor = doc["spec"]["predictor"]
    extension = {k: v for k, v in predictor.items() if k in KSERVE_EXTENSION["properties"]}  # type: ignore[operator]
    pod = {k: v for k, v in predictor.items() if k not in extension}
    _kubernetes_validator(KSERVE_EXTENSION).validate(extension)
    _kubernetes_validator({"$ref": DEFS + "io.k8s.api.core.v1.PodSpec"}).validate(pod)
    if "maxReplicas" in extension:
        assert extension.get("minReplicas", 1) <= extension["maxReplicas"]


def test_k8s_manifests_pass_the_kubernetes_api_schemas() -> None:
    import kubernetes_validate
    from kubernetes_validate.utils import latest_version

    docs = list(yaml.safe_load_all(to_yaml(k8s_manifests(Ref.parse("Churn@champion"), 3))))
    deployment, service, isvc = docs
    for doc in (deployment, service):
        kubernetes_validate.validate(doc, latest_version(), strict=True)
    _check_inference_service(isvc)


def test_k8s_manifests_give_the_containers_the_environment_and_secrets_asked_for() -> None:
    import kubernetes_validate
    from kubernetes_validate.utils import latest_version

    env = {"TETHER_STORE_URL": "postgresql+psycopg://tether@db/t", "TETHER_OBJECTS_URL": "s3://l/t"}
    docs = list(yaml.safe_load_all(to_yaml(k8s_manifests(
        Ref.parse("churn@champion"), 3, env=env, env_secrets=["lake-keys"],
    ))))  # fmt: skip
    deployment, _service, isvc = docs
    kubernetes_validate.validate(deployment, latest_version(), strict=True)
    _check_inference_service(isvc)
    for container in (
        deployment["spec"]["template"]["spec"]["containers"][0],
        isvc["spec"]["predictor"]["containers"][0],
    ):
        assert {e["name"]: e["value"] for e in container["env"]} == env
        assert container["envFrom"] == [{"secretRef": {"name": "lake-keys"}}]
    with pytest.raises(ServingError, match="'1BAD' is not a variable name"):
        k8s_manifests(Ref.parse("churn@champion"), 3, env={"1BAD": "x"})
    with pytest.raises(ServingError, match="'Lake_Keys' is not a Secret's name"):
        k8s_manifests(Ref.parse("churn@champion"), 3, env_secrets=["Lake_Keys"])


def test_the_schema_checks_catch_broken_manifests() -> None:
    """The checks above have teeth: a wrong type, an unknown field, a missing part fail."""
    import copy

    import jsonschema
    import kubernetes_validate
    from kubernetes_validate.utils import latest_version

    deployment, service, isvc = k8s_manifests(Ref.parse("Churn@champion"), 3)
    bad = copy.deepcopy(deployment)
    bad["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, latest_version(), strict=True)
    bad = copy.deepcopy(service)
    bad["spec"]["portz"] = bad["spec"].pop("ports")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, latest_version(), strict=True)
    for mutate in (
        lambda d: d.update(apiVersion="serving.kserve.io/v1alpha1"),
        lambda d: d["spec"].pop("predictor"),
        lambda d: d["spec"]["predictor"].pop("containers"),
        lambda d: d["spec"]["predictor"]["containers"][0].update(image=3),
        lambda d: d["spec"]["predictor"]["containers"][0].update(readinessProbes={}),
        lambda d: d["spec"]["predictor"].update(minReplicas=-1),
    ):
        bad = copy.deepcopy(isvc)
        mutate(bad)
        with pytest.raises(jsonschema.ValidationError):
            _check_inference_service(bad)


def test_deploy_k8s_takes_the_environment_on_its_command_line(ws: Any) -> None:
    import subprocess
    import sys

    tether = [sys.executable, "-m", "tether", "deploy", "k8s", "lr@champion"]
    done = subprocess.run(
        [*tether, "--env", "TETHER_OBJECTS_URL=s3://lake/t?x=1", "--env-from-secret", "keys"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    deployment = next(yaml.safe_load_all(done.stdout))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "TETHER_OBJECTS_URL", "value": "s3://lake/t?x=1"}]
    assert container["envFrom"] == [{"secretRef": {"name": "keys"}}]
    bad = subprocess.run([*tether, "--env", "NOVALUE"], capture_output=True, text=True)
    assert bad.returncode == 2 and "'NOVALUE' is not NAME=VALUE" in bad.stderr
