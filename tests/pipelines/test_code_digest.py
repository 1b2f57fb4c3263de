"""The code digest covers every value a step's code can read: each kind of edit re-runs exactly
the steps that read it."""

from __future__ import annotations

import itertools
import sys
import textwrap
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tether.pipelines.environment import distributions
from tether.pipelines.loader import load_file
from tether.pipelines.source import code_digest, step_code

from .conftest import WriteModule

HELPERS = """
OFFSET = {offset}

def _inner(x):
    return x + OFFSET

def transform(x):
    return _inner(x)
"""

FLOWS = """
import functools

import {helpers} as helpers
from tether.pipelines import step

LR = {lr}
BASE = {base}
SCALE = {scale}
Kind = {external}


def scaled(k):
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs) * k
        return wrapper
    return deco


class Config:
    depth = {depth}


def make(factor):
    def inner(x):
        return x * factor
    return inner


@step
def s_const(x: float) -> float:
    return x * LR


@step
def s_default(x: float, lr: float = BASE) -> float:
    return x * lr


@step
def s_class(x: float) -> float:
    return x + Config.depth


@step
@scaled(SCALE)
def s_deco(x: float) -> float:
    return x


@step
def s_helper(x: float) -> float:
    return helpers.transform(x)


s_closure = step(make({factor}), name="s_closure")


@step
def s_external(x: float) -> str:
    return Kind.__name__ + str(x)
"""

# which edit changes which step
KINDS = {
    "lr": "s_const",
    "base": "s_default",
    "depth": "s_class",
    "scale": "s_deco",
    "offset": "s_helper",
    "factor": "s_closure",
    "external": "s_external",  # a name bound to another installed (here: built-in) class
}
EXTERNAL = ["int", "float", "str", "bytes", "list", "dict", "set", "tuple", "frozenset", "complex"]
_n = itertools.count()


def _digests(folder: Path, values: dict[str, int]) -> dict[str, str]:
    n = next(_n)
    helpers = f"helpers_{n}"
    (folder / f"{helpers}.py").write_text(textwrap.dedent(HELPERS.format(**values)))
    path = folder / f"flows_{n}.py"
    text = FLOWS.format(helpers=helpers, **{**values, "external": EXTERNAL[values["external"]]})
    path.write_text(textwrap.dedent(text))
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    mod = load_file(path, f"flows_{n}")
    return {s: code_digest(getattr(mod, s).fn, [folder]) for s in KINDS.values()}


@settings(max_examples=25, deadline=None)
@given(
    before=st.fixed_dictionaries({k: st.integers(1, 5) for k in KINDS}),
    edits=st.dictionaries(st.sampled_from(sorted(KINDS)), st.integers(6, 9)),
)
def test_each_kind_of_edit_changes_exactly_the_steps_that_read_it(
    tmp_path_factory: object, before: dict[str, int], edits: dict[str, int]
) -> None:
    folder = Path(tmp_path_factory.mktemp("code"))  # type: ignore[attr-defined]
    old = _digests(folder, before)
    new = _digests(folder, {**before, **edits})
    changed = {s for s in KINDS.values() if old[s] != new[s]}
    assert changed == {KINDS[k] for k in edits}


def test_a_constant_changed_in_a_live_process_changes_the_digest(tmp_path: Path) -> None:
    values = dict.fromkeys(KINDS, 1)
    n = next(_n)
    (tmp_path / f"helpers_{n}.py").write_text(textwrap.dedent(HELPERS.format(**values)))
    path = tmp_path / f"flows_{n}.py"
    values["external"] = "int"  # type: ignore[assignment]
    path.write_text(textwrap.dedent(FLOWS.format(helpers=f"helpers_{n}", **values)))
    sys.path.insert(0, str(tmp_path))
    mod = load_file(path, f"flows_{n}")
    before = code_digest(mod.s_const.fn, [tmp_path])
    assert code_digest(mod.s_const.fn, [tmp_path]) == before
    mod.LR = 0.2  # a notebook cell re-run: the function object is the same
    assert code_digest(mod.s_const.fn, [tmp_path]) != before


EDIT = """
from tether.pipelines import step, pipeline

LR = {lr}

@step
def fit(n: int) -> float:
    return n * LR

@step
def other(n: int) -> int:
    return n + 1

@pipeline
def flow(n: int = 2):
    return fit(n), other(n)
"""


def test_editing_a_module_constant_reruns_the_step_that_reads_it(
    write_module: WriteModule, executor: str
) -> None:
    write_module(EDIT.format(lr=0.1)).flow(executor=executor)
    run = write_module(EDIT.format(lr=0.2)).flow(executor=executor)
    assert not run.steps["fit"].cached
    assert run.steps["other"].cached
    assert run.output() == (0.4, 3)


def test_step_environment_names_only_the_distributions_its_code_uses(tmp_path: Path) -> None:
    path = tmp_path / "numeric.py"
    path.write_text(
        textwrap.dedent(
            """
            import json
            import numpy as np

            def uses_numpy(x):
                return np.asarray(x).sum()

            def uses_json(x):
                return json.dumps(x)
            """
        )
    )
    mod = load_file(path, f"numeric_{next(_n)}")
    _, numpy_modules = step_code(mod.uses_numpy, [tmp_path])
    _, json_modules = step_code(mod.uses_json, [tmp_path])
    assert "numpy" in distributions(numpy_modules)
    assert distributions(json_modules) == {}  # the standard library: the interpreter's version
    assert "pyarrow" not in distributions(numpy_modules)  # installed, but not used


def _fake_distribution(folder: Path, version: str) -> Path:
    """A real installed distribution ``fakedist`` (module ``fakemod``) in its own folder."""
    site = folder / f"site-{version}"
    (site / "fakemod").mkdir(parents=True)
    (site / "fakemod" / "__init__.py").write_text("VALUE = 1\n")
    info = site / f"fakedist-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakedist\nVersion: {version}\n")
    (info / "RECORD").write_text("fakemod/__init__.py,,\n")
    (info / "top_level.txt").write_text("fakemod\n")
    return site


def test_an_unrelated_package_changes_no_step_environment(tmp_path: Path) -> None:
    from tether.pipelines.environment import step_environment

    project = tmp_path / "project"
    project.mkdir()
    (project / "steps_env.py").write_text(
        textwrap.dedent(
            """
            import fakemod
            import json

            def uses(x):
                return fakemod.VALUE + x

            def plain(x):
                return json.dumps(x)
            """
        )
    )
    saved = list(sys.path)
    try:
        sys.path.insert(0, str(_fake_distribution(tmp_path, "1.0")))
        mod = load_file(project / "steps_env.py", f"steps_env_{next(_n)}")
        uses_v1 = step_environment(step_code(mod.uses, [project])[1])
        plain_v1 = step_environment(step_code(mod.plain, [project])[1])
        assert "fakedist==1.0" in uses_v1 and "fakedist" not in plain_v1
        sys.path[0] = str(_fake_distribution(tmp_path, "2.0"))  # upgraded
        assert step_environment(step_code(mod.uses, [project])[1]) != uses_v1
        assert step_environment(step_code(mod.plain, [project])[1]) == plain_v1
    finally:
        sys.path[:] = saved
