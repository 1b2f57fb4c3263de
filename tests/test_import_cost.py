"""`import tether` and `tether --help` must stay instant: no heavy library at import time."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HEAVY = [
    "sqlalchemy",
    "alembic",
    "fsspec",
    "s3fs",
    "numpy",
    "pandas",
    "pyarrow",
    "blake3",
    "typer",
    "click",
    "rich",
    "psycopg",
    "botocore",
    "tomlkit",
]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(list(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {m.split(".")[0] for m in json.loads(out.splitlines()[-1])}


def test_import_tether_loads_no_heavy_library() -> None:
    loaded = _modules_after("import tether")
    assert not loaded & set(HEAVY), f"import tether loaded {sorted(loaded & set(HEAVY))}"


def test_layer_packages_import_cheaply() -> None:
    loaded = _modules_after("import tether.config, tether.store, tether.objects, tether.models")
    heavy = {"sqlalchemy", "alembic", "fsspec", "s3fs", "numpy", "pandas", "pyarrow", "psycopg"}
    assert not loaded & heavy, f"layer packages loaded {sorted(loaded & heavy)}"


def test_help_does_not_touch_storage_libraries() -> None:
    loaded = _modules_after(
        "from tether.cli.main import main\ntry:\n main(['--help'])\nexcept SystemExit:\n pass"
    )
    heavy = {"sqlalchemy", "alembic", "fsspec", "numpy", "pandas", "blake3"}
    assert not loaded & heavy, f"tether --help loaded {sorted(loaded & heavy)}"


def test_no_public_name_shadows_a_submodule() -> None:
    """A package's public name that is also a submodule's name turns into that module once
    anything imports the submodule (or hides the submodule); in every package, every public
    name must be what it says."""
    import importlib
    import pkgutil

    import tether

    packages = ["tether"] + [
        m.name for m in pkgutil.walk_packages(tether.__path__, "tether.") if m.ispkg
    ]
    clashes = []
    for name in packages:
        package = importlib.import_module(name)
        submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
        public = set(getattr(package, "__all__", ())) | set(getattr(package, "_LAZY", ()))
        clashes += [f"{name}.{n}" for n in sorted(public & submodules)]
        for n in public - submodules:
            if isinstance(getattr(package, n), type(package)):
                clashes.append(f"{name}.{n} (a module)")
    assert not clashes, f"public names that are also submodules: {clashes}"


def test_reading_settings_and_remotes_does_not_load_the_toml_editor(tmp_path: Path) -> None:
    """Every command reads the config; only `tether remote add/remove/default` edit it."""
    code = (
        "from pathlib import Path\nfrom tether.config import WorkspaceDir, load_settings\n"
        f"ws = WorkspaceDir(Path({str(tmp_path)!r}))\nws.dir.mkdir()\n"
        'ws.config_path.write_text(\'[core]\\nproject = "p"\\nremote = "o"\\n'
        '[remotes.o]\\nurl = "/r"\\n\')\n'
        f"s = load_settings(ws, env={{'XDG_CONFIG_HOME': {str(tmp_path / 'xdg')!r}}})\n"
        "assert s.remote().url == '/r'"
    )
    loaded = _modules_after(code)
    assert "tomlkit" not in loaded


def test_data_status_imports_only_what_it_needs() -> None:
    """``tether data status`` on unchanged data must not load hashing or the object backends."""
    loaded = _modules_after(
        "import tether.cli.app as a\na.build_app(only='data')\n"
        "import tether.data.changes, tether.data.repo"
    )
    assert "typer" in loaded
    heavy = {"sqlalchemy", "fsspec", "numpy", "pandas", "pyarrow"}
    assert not loaded & heavy, f"data status loaded {sorted(loaded & heavy)}"


def test_unchanged_data_status_is_answered_before_typer(tmp_path: Path) -> None:
    """``tether data status`` on unchanged data answers from the lean modules alone
    (tether.cli.data_status): no Typer, no storage library, and none of the standard modules
    whose imports cost more than the check itself."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("a")
    past = time.time() - 60  # a recent whole-second mtime would not be trusted
    for p in (tmp_path / "d", tmp_path / "d" / "a.txt"):
        os.utime(p, (past, past))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    for args in (["init"], ["data", "add", "d"]):
        subprocess.run([sys.executable, "-m", "tether", *args], cwd=tmp_path, env=env, check=True)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom tether.cli.main import main\nmain(['data', 'status'])\n"
            "print(' '.join(sys.modules))",
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert out[0] == "d  (d@1): up to date"
    loaded = {m.split(".")[0] for m in out[1].split()}
    heavy = {"typer", "click", "rich", "sqlalchemy", "fsspec", "alembic", "tomlkit"}
    assert not loaded & heavy, f"data status loaded {sorted(loaded & heavy)}"
    costly = {"typing", "pathlib", "dataclasses", "tomllib", "json", "threading", "tempfile"}
    assert not loaded & costly, f"the fast data status loaded {sorted(loaded & costly)}"
