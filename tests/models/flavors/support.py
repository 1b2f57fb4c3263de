"""Helpers of the flavour tests: test libraries, round trips, fresh processes, hand-made folders."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tether.models import load_model, save_model

ROOT = Path(__file__).resolve().parents[3]


def need(module: str) -> ModuleType:
    """A test library, or a loud failure naming the install command (never a silent skip)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        pytest.fail(
            f"this test needs {module!r}, which the dev extra installs: pip install -e '.[dev]' "
            "(docs/models.md: installing torch without CUDA)",
            pytrace=False,
        )


def round_trip(model: Any, sample: Any, folder: Path, flavor: str) -> Any:
    """Save (flavour chosen from the type), load, and check predictions are equal."""
    meta = save_model(model, folder, sample=sample)
    assert meta.flavor == flavor
    assert meta.libraries, "a saved model records its libraries' versions"
    manifest = json.loads((folder / "tether-model.json").read_text())
    assert manifest["flavor"] == flavor
    assert manifest["signature"]["inputs"]["specs"]
    assert manifest["example"] in manifest["files"]
    loaded = load_model(folder)
    assert loaded.flavor == flavor
    after = loaded.predict(sample)
    return after


def predict_in_fresh_process(folder: Path, inputs: Any, tmp_path: Path) -> Any:
    """Predictions of the saved model in a new Python process (nothing shared in memory)."""
    if hasattr(inputs, "to_parquet"):
        inputs_path = tmp_path / "inputs.parquet"
        inputs.to_parquet(inputs_path)
    else:
        inputs_path = tmp_path / "inputs.npy"
        np.save(inputs_path, inputs, allow_pickle=False)
    out_path = tmp_path / "out.npy"
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from tether.models import load_model\n"
        "m = load_model(sys.argv[1])\n"
        "p = sys.argv[2]\n"
        "x = pd.read_parquet(p) if p.endswith('.parquet') else np.load(p, allow_pickle=False)\n"
        "np.save(sys.argv[3], np.asarray(m.predict(x)), allow_pickle=False)\n"
    )
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder), str(inputs_path), str(out_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return np.load(out_path, allow_pickle=False)


def predict_fresh(folders: dict[str, Path], out: Path, heavy: tuple[str, ...]) -> dict[str, Any]:
    """Load each folder in one new interpreter, predict on its ``x.npy`` (answers into ``out``),
    and say whether each was fast and which of the ``heavy`` modules it imported."""
    code = (
        "import json, sys, numpy as np\n"
        "from tether.models import load_model\n"
        "folders, out = json.loads(sys.argv[1]), sys.argv[2]\n"
        "fast = {}\n"
        "for name, folder in folders.items():\n"
        "    m = load_model(folder)\n"
        "    x = np.load(folder + '/x.npy', allow_pickle=False)\n"
        "    fast[name] = m.fast\n"
        "    p = m.predict(x)\n"
        "    np.save(f'{out}/{name}.npy', p.astype(str) if p.dtype == object else p)\n"
        "    print(name, p.dtype, file=sys.stderr)\n"
        "    if hasattr(m, 'predict_proba'):\n"
        "        np.save(f'{out}/{name}-proba.npy', m.predict_proba(x))\n"
        f"heavy = [h for h in {heavy!r} if h in sys.modules]\n"
        "print(json.dumps({'fast': fast, 'heavy': heavy}))\n"
    )
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps({k: str(v) for k, v in folders.items()}), str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def rewrite_digests(folder: Path) -> None:
    """Make the manifest match the files again (a hand-made or hostile folder)."""
    from tether.objects.digest import hash_file

    manifest = folder / "tether-model.json"
    data = json.loads(manifest.read_text())
    for name in data["files"]:
        info = hash_file(folder / name)
        data["files"][name] = {"size": info.size, "blake3": info.digest}
    manifest.write_text(json.dumps(data))
