"""Deployment artefacts: a Docker build context holding the model version and its recorded
libraries; Kubernetes manifests with probes on the OIP v2 health endpoints."""

from __future__ import annotations

from pathlib import Path

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
