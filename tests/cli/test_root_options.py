"""`--store-url`, `--objects-url` and `--project` are honoured by every command.

A workspace whose own store (`.tether/tether.db`, `.tether/objects`) must stay untouched; every
command runs with the root options pointing at another SQLite file and objects folder, and
must find there what was written there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

import tether
from tether.cli.app import build_app
from tether.config import init_workspace
from tether.tracking.session import close_sessions

from .conftest import run

FLOW = """
from tether.pipelines import step, pipeline

@step
def double(n: int) -> int:
    return n * 2

@pipeline
def flow(n: int = 1):
    return double(n)
"""

LOOP = """
[loop.l]
model = "clf"
alias = "champ"
pipeline = "flow:flow"
dataset = "imgs"
target = "y"
gate = { primary = "accuracy" }
triggers = { new_data = true }
"""

# commands that touch no store: init (writes config), demo (its own workspace), remote (config)
NO_STORE = {"init", "demo", "remote add", "remote ls", "remote remove", "remote default"}


def _model(ws: Path) -> None:
    """Model ``m@1`` and its evaluation data, in the stores the root options name."""
    from tests.models.registrykit import churn, fitted, register

    frame = churn(100)
    register("m", fitted(frame, ["signal"]), frame.drop(columns=["y"]).head(5), ws)
    frame.to_parquet(ws / "eval.parquet")
    (ws / "gate.toml").write_text('primary = "accuracy"\nresamples = 50\n')


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ws = root / "ws"
        self.other_db = root / "other.db"
        self.flags = [
            "-C",
            str(self.ws),
            "--store-url",
            f"sqlite:///{self.other_db}",
            "--objects-url",
            str(root / "other-objects"),
            "--project",
            "elsewhere",
        ]
        self.run_id = ""
        self.digest = ""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("root-options"))
    init_workspace(w.ws, project="home")
    (w.ws / "imgs").mkdir()
    (w.ws / "imgs" / "a.txt").write_text("a")
    (w.ws / "flow.py").write_text(FLOW)
    (w.ws / "loop.toml").write_text(LOOP)
    (w.ws / "labels.csv").write_text("request_id,label\na,1\nb,0\n")
    with (w.ws / ".tether" / "config.toml").open("a") as f:
        f.write('\n[monitor.m]\nmodel = "clf@1"\nschedule = "* * * * *"\n')
    (w.ws / "remote").mkdir()
    saved = {k: v for k, v in os.environ.items() if k.startswith("TETHER_")}
    try:
        assert run(*w.flags, "data", "add", str(w.ws / "imgs")) == 0
        flow = str(w.ws / "flow.py") + ":flow"
        assert run(*w.flags, "pipeline", "run", flow, "-x", "inline") == 0
        assert run("-C", str(w.ws), "remote", "add", "r", str(w.ws / "remote"), "--default") == 0
        os.environ["TETHER_STORE_URL"] = f"sqlite:///{w.other_db}"
        os.environ["TETHER_OBJECTS_URL"] = str(w.root / "other-objects")
        os.environ["TETHER_CORE_PROJECT"] = "elsewhere"
        (w.ws / "m.bin").write_bytes(b"m")
        with tether.run(name="only-there", workspace=w.ws, capture=False) as r:
            r.log_input("imgs@1")
            r.log_metrics({"acc": 0.5})
            w.digest = r.log_artifact(w.ws / "m.bin")
        w.run_id = r.id
        _model(w.ws)
        _log_models(w.ws)
    finally:
        for k in [k for k in os.environ if k.startswith("TETHER_")]:
            del os.environ[k]
        os.environ.update(saved)
        close_sessions()
    assert not (w.ws / ".tether" / "tether.db").exists()
    yield w


def _log_models(root: Path) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    import tether.models as tm

    x = np.arange(20.0).reshape(10, 2)
    y = np.array([0, 1] * 5)
    for c in (1.0, 0.5):
        tm.log(LogisticRegression(C=c).fit(x, y), "clf", sample=x[:5], workspace=root)


# command -> (arguments after it, text its output must hold); {run} {digest} {ws} filled in
CASES: dict[str, tuple[str, ...]] = {
    "config show": ("config show", "other.db"),
    "config get": ("config get store.url", "other.db"),
    "objects put": ("objects put {ws}/m.bin", "{digest}"),
    "objects get": ("objects get {digest} {ws}/out.bin", ""),
    "objects verify": ("objects verify", "ok"),
    "objects repair": ("objects repair", "nothing to repair"),
    "objects ls": ("objects ls", "{digest}"),
    "objects show": ("objects show {tree}", "a.txt"),
    "gc": ("gc --dry-run --grace 0", "referenced (kept)"),
    "store info": ("store info", "elsewhere"),
    "runs ls": ("runs ls -e default", "only-there"),  # not the evaluation runs of models gate
    "runs show": ("runs show {run}", "only-there"),
    "runs compare": ("runs compare {run} {run}", "only-there"),
    "runs plot": ("runs plot {run} -m acc -o {ws}/p.svg", "wrote"),
    "runs delete": ("runs delete {run} ; runs restore {run}", "deleted run"),
    "runs restore": ("runs delete {run} ; runs restore {run}", "restored run"),
    "data add": ("data add {ws}/imgs", "unchanged"),
    "data ls": ("data ls", "imgs"),
    "data log": ("data log imgs", "1"),
    "data show": ("data show imgs@1", "a.txt"),
    "data status": ("data status", "up to date"),
    "data checkout": ("data checkout", "up to date"),
    "data diff": ("data diff imgs@1 imgs@1", "no differences"),
    "data delete": ("data delete imgs ; data restore imgs", "deleted dataset"),
    "data restore": ("data delete imgs ; data restore imgs", "restored dataset"),
    "data push": ("data push", "pushed 1 version"),
    "data pull": ("data push ; data pull", "pulled 1 version"),
    "pipeline run": ("pipeline run {ws}/flow.py:flow -x inline", "finished"),
    "pipeline ls": ("pipeline ls --json", "flow"),
    "pipeline show": ("pipeline show {pipeline}", "double"),
    "pipeline resume": ("pipeline resume {pipeline}", "double: cached"),
    "lineage": ("lineage {run}", "dataset imgs@1"),
    "models ls": ("models ls", "clf"),
    "models show": ("models show clf@1", "sklearn"),
    "models promote": ("models promote clf@1 --alias a", "a: "),
    "models history": ("models promote clf@1 --alias h ; models history clf", "h: "),
    "models rollback": (
        "models promote clf@1 -a r ; models promote clf@2 -a r ; models rollback clf@r",
        "r: 2 -> 1",
    ),
    "models card": ("models card clf@1 -o {ws}/card.md", "wrote"),
    "models export": ("models export clf@1 {ws}/mlflow-out", "wrote"),
    "models import": (
        "models export clf@2 {ws}/mlflow-in ; models import {ws}/mlflow-in c2",
        "c2@1",
    ),
    # found imgs@1 in the store the options name (a folder of one text file), then refused
    "monitor drift": ("monitor drift imgs@1 -r imgs@1", "a.txt is not a .parquet or .csv"),
    # found clf@1 there, made by a run that read no dataset: refused
    "monitor window": ("monitor window clf@1 --window 1h", "no training reference for run"),
    "monitor labels add": ("monitor labels add {ws}/labels.csv --model clf", "stored 2 labels"),
    "monitor performance": ("monitor performance clf", "clf logged no predictions"),
    # the [monitor.m] table of that workspace's config names clf@1: found, then refused
    "monitor run": ("monitor run m", "no training reference for run"),
    "monitor tick": ("monitor tick", "no training reference for run"),
    "reproduce": ("reproduce {run}", "was started interactively"),
    # loop.toml names dataset imgs, which only the other store holds
    "loop tick": ("loop tick --policy {ws}/loop.toml --dry-run", "would run flow:flow on imgs@"),
    "loop run": ("loop run --policy {ws}/loop.toml --dry-run --ticks 1", "would run flow:flow"),
    "loop trigger": ("loop trigger l --policy {ws}/loop.toml --reason x", "recorded for loop l"),
    "loop status": (
        "loop trigger l --policy {ws}/loop.toml ; loop status --policy {ws}/loop.toml",
        "manual:",
    ),
    "loop history": (
        "loop trigger l --policy {ws}/loop.toml --reason y ; loop history l",
        "manual: y",
    ),
    "models gate": (
        "models gate m@1 m@1 --data {ws}/eval.parquet --policy {ws}/gate.toml --target y",
        "## Model gate: failed",  # a model does not beat itself
    ),
    "serve": ("serve m@champion --check", "in project 'elsewhere'"),
    "deploy docker": ("deploy docker m@champion -o {ws}/ctx", "in project 'elsewhere'"),
    "deploy k8s": ("deploy k8s m@champion", "in project 'elsewhere'"),
}


def _leaf_commands() -> set[str]:
    def walk(cmd: object, path: list[str]) -> set[str]:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            return {" ".join(path)}
        return {c for name, sub in subs.items() for c in walk(sub, [*path, name])}

    return walk(typer.main.get_command(build_app()), [])


def test_every_command_is_covered() -> None:
    assert _leaf_commands() == set(CASES) | NO_STORE


@pytest.mark.parametrize("command", sorted(CASES))
def test_command_uses_the_stores_the_root_options_name(
    world: World, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tether.store import open_store

    with open_store(f"sqlite:///{world.other_db}") as store:
        pipeline = store.search_runs("elsewhere", None)[-1].id  # the oldest: the pipeline run
        tree = store.get_dataset_version("elsewhere", "imgs", 1).tree_digest
    args, expected = CASES[command]
    fill = {"run": world.run_id, "digest": world.digest, "ws": str(world.ws)}
    fill |= {"pipeline": pipeline, "tree": tree}
    codes = [run(*world.flags, *part.split()) for part in args.format(**fill).split(" ; ")]
    out, err = capsys.readouterr()
    text = out + err
    # found what they name, then refused; serve, deploy: looked for the model in the project
    # the options name, which has none
    refused = ("reproduce", "models gate", "monitor drift", "monitor window",
               "monitor performance", "monitor run", "monitor tick", "serve", "deploy docker",
               "deploy k8s")  # fmt: skip
    if command in refused:
        assert codes == [1], text
    else:
        assert set(codes) == {0}, text
    assert expected.format(**fill) in text, text
    assert not (world.ws / ".tether" / "tether.db").exists()
    assert not (world.ws / ".tether" / "objects").exists()
