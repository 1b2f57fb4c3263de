"""Cache keys: unchanged steps are skipped; an edit re-runs that step and what depends on it."""

from __future__ import annotations

from tether.pipelines.cache import cache_key

from .conftest import WriteModule

CHAIN = """
from tether.pipelines import step, pipeline

def helper(v):
    return v + {HELPER}

@step
def first(n: int) -> int:
    return n + {FIRST}

@step
def second(v: int) -> int:
    return helper(v)

@step
def side(n: int) -> int:
    return n * 3

@step(cache={CACHE})
def third(v: int) -> int:
    return v * 2

@pipeline
def chain(n: int = 1):
    return third(second(first(n))), side(n)
"""


def _module(write: WriteModule, first: int = 1, helper: int = 1, cache: bool = True) -> object:
    code = CHAIN.replace("{FIRST}", str(first)).replace("{HELPER}", str(helper))
    return write(code.replace("{CACHE}", str(cache)))


def _cached(run: object) -> dict[str, bool]:
    return {n: s.cached for n, s in run.steps.items()}  # type: ignore[attr-defined]


def test_second_run_is_all_cached(write_module: WriteModule, executor: str) -> None:
    mod = _module(write_module)
    first = mod.chain(executor=executor)  # type: ignore[attr-defined]
    again = mod.chain(executor=executor)  # type: ignore[attr-defined]
    assert not any(_cached(first).values())
    assert all(_cached(again).values())
    assert again.output() == first.output() == (6, 3)
    assert again.steps["third"].outputs == first.steps["third"].outputs


def test_editing_one_step_reruns_it_and_its_dependents(
    write_module: WriteModule, executor: str
) -> None:
    _module(write_module).chain(executor=executor)  # type: ignore[attr-defined]
    edited = _module(write_module, first=5).chain(executor=executor)  # type: ignore[attr-defined]
    assert _cached(edited) == {"first": False, "second": False, "side": True, "third": False}
    assert edited.output() == (14, 3)


def test_editing_a_project_helper_reruns_the_steps_using_it(write_module: WriteModule) -> None:
    _module(write_module).chain(executor="inline")  # type: ignore[attr-defined]
    edited = _module(write_module, helper=2).chain(executor="inline")  # type: ignore[attr-defined]
    assert _cached(edited) == {"first": True, "second": False, "side": True, "third": False}


def test_no_cache_and_cache_false_force_a_run(write_module: WriteModule, executor: str) -> None:
    mod = _module(write_module, cache=False)
    mod.chain(executor=executor)  # type: ignore[attr-defined]
    again = mod.chain(executor=executor)  # type: ignore[attr-defined]
    assert _cached(again) == {"first": True, "second": True, "side": True, "third": False}
    forced = mod.chain(executor=executor, no_cache=True)  # type: ignore[attr-defined]
    assert not any(_cached(forced).values())


def test_a_new_param_value_misses_the_cache(write_module: WriteModule) -> None:
    mod = _module(write_module)
    mod.chain(n=1, executor="inline")  # type: ignore[attr-defined]
    other = mod.chain(n=2, executor="inline")  # type: ignore[attr-defined]
    assert not any(_cached(other).values())


def test_cache_key_depends_on_every_part() -> None:
    base = {
        "step": "s",
        "kind": "python",
        "code": "c",
        "params": {"a": 1},
        "inputs": {"x": "d" * 64},
        "outputs": ("output",),
        "environment": "env",
        "materializers": "m",
    }
    key = cache_key(**base)  # type: ignore[arg-type]
    assert key == cache_key(**base)  # type: ignore[arg-type]
    for field, other in [
        ("code", "c2"),
        ("params", {"a": 2}),
        ("inputs", {"x": "e" * 64}),
        ("outputs", ("o",)),
        ("environment", "env2"),
        ("materializers", "m2"),
    ]:
        assert cache_key(**{**base, field: other}) != key  # type: ignore[arg-type]
