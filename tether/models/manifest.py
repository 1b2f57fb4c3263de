"""``tether-model.json``: what a saved model folder holds and how to load it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.models.errors import BadManifest, ModelNotFound
from tether.models.files import FileEntry, check_name
from tether.models.signature import Signature

MANIFEST = "tether-model.json"
FORMAT = 1


@dataclass(frozen=True)
class ModelMeta:
    """A saved model as its manifest describes it."""

    flavor: str
    options: dict[str, Any]
    libraries: dict[str, str]
    files: dict[str, FileEntry]
    signature: Signature | None = None
    example: str | None = None
    python: str = ""

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "flavor": self.flavor,
            "options": self.options,
            "libraries": self.libraries,
            "python": self.python,
            "signature": None if self.signature is None else self.signature.to_json(),
            "example": self.example,
            "files": {
                name: {"size": e.size, "blake3": e.digest} for name, e in sorted(self.files.items())
            },
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def read_manifest(folder: Path) -> ModelMeta:
    path = folder / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise ModelNotFound(folder) from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadManifest(path, f"it cannot be read ({e})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadManifest(path, f"it is not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict):
        raise BadManifest(path, "it is not a JSON object")
    if data.get("format") != FORMAT:
        raise BadManifest(
            path, f"format {data.get('format')!r} is not {FORMAT} (saved by another Tether?)"
        )
    flavor, options, libraries = data.get("flavor"), data.get("options"), data.get("libraries")
    if not isinstance(flavor, str):
        raise BadManifest(path, "'flavor' must be a string")
    if not isinstance(options, dict) or not isinstance(libraries, dict):
        raise BadManifest(path, "'options' and 'libraries' must be objects")
    files = _files(data.get("files"), path)
    example = data.get("example")
    if example is not None and check_name(example, path) not in files:
        raise BadManifest(path, f"its example {example!r} is not among its files")
    signature = data.get("signature")
    return ModelMeta(
        flavor=flavor,
        options=options,
        libraries={str(k): str(v) for k, v in libraries.items()},
        files=files,
        signature=None if signature is None else Signature.from_json(signature, path),
        example=example,
        python=str(data.get("python", "")),
    )


def _files(value: Any, path: Path) -> dict[str, FileEntry]:
    if not isinstance(value, dict):
        raise BadManifest(path, "'files' must be an object")
    files = {}
    for name, entry in value.items():
        check_name(name, path)
        if name == MANIFEST:
            raise BadManifest(path, f"it lists itself ({MANIFEST}) among its files")
        if (
            not isinstance(entry, dict)
            or type(entry.get("size")) is not int
            or not isinstance(entry.get("blake3"), str)
        ):
            raise BadManifest(path, f"file {name!r} needs an integer size and a blake3 digest")
        files[name] = FileEntry(entry["size"], entry["blake3"])
    return files
