"""Deployment artefacts for a served model: a Docker build context and Kubernetes manifests.

The image holds the model version itself (``models/NAME/VERSION/`` and the alias file, served
with ``tether serve --from``), so it runs without access to the stores. By default it logs no
predictions (it has no workspace); built with ``log_project``, it holds a workspace of that
project at ``/srv`` and logs into the stores ``TETHER_STORE_URL`` and ``TETHER_OBJECTS_URL``
name when it runs (its own disk where they are not set).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tether.serving.errors import ServingError
from tether.serving.source import ModelSource, Ref

PORT = 8080
DISTS = {"sklearn": "scikit-learn"}  # import name -> pip distribution, where they differ


EXTRAS = ("s3", "gcs", "azure", "postgres")  # the stores an image can log into


def requirements(folder: Path, extras: Sequence[str] = ()) -> list[str]:
    """The pip requirements of the model's recorded environment (its libraries' versions),
    with Tether's ``extras`` for the stores it logs into."""
    from tether.models.manifest import read_manifest

    unknown = sorted(set(extras) - set(EXTRAS))
    if unknown:
        raise ServingError(
            f"unknown extra {', '.join(unknown)}; an image's stores need {', '.join(EXTRAS)}"
        )
    meta = read_manifest(folder)
    reqs = [f"{DISTS.get(m, m)}=={v.split('+')[0]}" for m, v in sorted(meta.libraries.items())]
    wanted = ",".join(["serve", *sorted(set(extras))])
    return [f"tether[{wanted}]", *reqs]


def docker_context(
    ref: Ref, source: ModelSource, out: str | os.PathLike[str], *, build: bool = False,
    log_project: str | None = None, extras: Sequence[str] = (),
) -> Path:  # fmt: skip
    """Write a Docker build context for ``ref`` into the new folder ``out``; with ``build`` and
    Docker present, build it as ``tether-NAME:VERSION``. Returns the Dockerfile's path. With
    ``log_project``, the image logs predictions into a workspace of that project (module
    docstring); ``extras``: Tether's extras for its stores (``EXTRAS``)."""
    dest = Path(out)
    if dest.exists() and any(dest.iterdir()):
        raise ServingError(f"{dest} is not empty; name a new folder")
    version = source.version_of(ref)
    folder = source.folder(ref.name, version)
    reqs = requirements(folder, extras)
    meta_python = _python_of(folder)
    alias = ref.alias or str(version)
    models = dest / "models" / ref.name
    shutil.copytree(folder, models / str(version))
    if ref.alias is not None:
        (models / ref.alias).write_text(f"{version}\n")
    (dest / "requirements.txt").write_text("\n".join(reqs) + "\n")
    workspace = ""
    if log_project is not None:  # /srv/.tether: found by `tether serve`, run in /srv
        from tether.config import init_workspace

        init_workspace(dest, project=log_project)
        workspace = "COPY --chown=tether .tether/ /srv/.tether/\n"
    no_log = "" if workspace else ', "--no-log"'
    dockerfile = dest / "Dockerfile"
    dockerfile.write_text(
        f"FROM python:{meta_python}-slim\n"
        "RUN useradd --create-home tether\n"
        "WORKDIR /srv\n"
        "COPY requirements.txt .\n"
        "RUN pip install --no-cache-dir -r requirements.txt\n"
        "COPY models/ /srv/models/\n"
        f"{workspace}"
        "USER tether\n"
        f"EXPOSE {PORT}\n"
        f'CMD ["tether", "serve", "{ref.name}@{alias}", "--from", "/srv/models", '
        f'"--host", "0.0.0.0", "--port", "{PORT}"{no_log}]\n'
    )
    if build:
        docker = shutil.which("docker")
        if docker is None:
            raise ServingError(f"wrote {dockerfile}, but docker is not installed to build it")
        tag = image_tag(ref.name, version)
        proc = subprocess.run([docker, "build", "-t", tag, str(dest)], capture_output=True)
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise ServingError(f"docker build failed: {' | '.join(tail)}")
    return dockerfile


def _python_of(folder: Path) -> str:
    from tether.models.manifest import read_manifest

    saved = read_manifest(folder).python or "{}.{}".format(*sys.version_info[:2])
    return ".".join(saved.split(".")[:2])


def image_tag(name: str, version: int) -> str:
    return f"tether-{name.lower()}:{version}"


ENV_NAME = re.compile(r"[A-Za-z_.-][A-Za-z0-9_.-]*")  # what Kubernetes takes as a variable's name
SECRET_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")  # an object name (RFC 1123)


def k8s_manifests(
    ref: Ref, version: int, image: str | None = None, *, env: Mapping[str, str] | None = None,
    env_secrets: Sequence[str] = (),
) -> list[dict[str, Any]]:  # fmt: skip
    """A Deployment and a Service (probes on the OIP v2 health endpoints) and a KServe
    InferenceService on the same image that scales to zero. ``env``: the containers'
    environment (an image built to log needs ``TETHER_STORE_URL`` and ``TETHER_OBJECTS_URL``);
    ``env_secrets``: Secrets whose keys become variables too (credentials)."""
    name = f"tether-{ref.name.lower()}"
    image = image or image_tag(ref.name, version)
    labels = {"app.kubernetes.io/name": name, "tether.dev/model": ref.name}
    environment: dict[str, Any] = {}
    for key in env or {}:
        if not ENV_NAME.fullmatch(key):
            raise ServingError(
                f"{key!r} is not a variable name Kubernetes takes: letters, digits, _, - and ., "
                "not starting with a digit"
            )
    for secret in env_secrets:
        if not SECRET_NAME.fullmatch(secret):
            raise ServingError(
                f"{secret!r} is not a Secret's name: lower-case letters, digits, - and ., "
                "starting and ending with a letter or digit"
            )
    if env:
        environment["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if env_secrets:
        environment["envFrom"] = [{"secretRef": {"name": s}} for s in env_secrets]

    def probe(path: str, period: int) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": PORT}, "periodSeconds": period}

    container = {
        "name": "server",
        "image": image,
        "ports": [{"containerPort": PORT, "name": "http", "protocol": "TCP"}],
        "readinessProbe": {**probe("/v2/health/ready", 5), "initialDelaySeconds": 1},
        "livenessProbe": {**probe("/v2/health/live", 10), "initialDelaySeconds": 5},
        "resources": {"requests": {"cpu": "500m", "memory": "256Mi"},
                      "limits": {"memory": "1Gi"}},
        **environment,
    }  # fmt: skip
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"terminationGracePeriodSeconds": 40, "containers": [container]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "selector": labels,
                "ports": [{"name": "http", "port": 80, "targetPort": PORT, "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": f"{name}-isvc", "labels": labels},
            "spec": {
                "predictor": {
                    "minReplicas": 0,  # serverless: scale to zero when idle
                    "maxReplicas": 4,
                    "containers": [
                        {
                            "name": "kserve-container",
                            "image": image,
                            "ports": [{"containerPort": PORT, "protocol": "TCP"}],
                            "readinessProbe": probe("/v2/health/ready", 5),
                            **environment,
                        }
                    ],
                }
            },
        },
    ]


def to_yaml(docs: list[dict[str, Any]]) -> str:
    """Documents as YAML (``---`` between them); strings are JSON-quoted, which YAML reads."""
    return "---\n".join(_emit(d, 0) for d in docs)


def _emit(value: Any, indent: int) -> str:
    pad = "  " * indent
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:\n{_emit(v, indent + 1)}")
            else:
                out.append(f"{pad}{k}: {_scalar(v)}\n")
        return "".join(out)
    if isinstance(value, list):
        out = []
        for item in value:
            text = _emit(item, indent + 1) if isinstance(item, (dict, list)) else None
            if text is None:
                out.append(f"{pad}- {_scalar(item)}\n")
            else:
                out.append(f"{pad}- {text.lstrip()}")
        return "".join(out)
    return f"{pad}{_scalar(value)}\n"


def _scalar(v: Any) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    if isinstance(v, bool) or v is None or isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(str(v))
