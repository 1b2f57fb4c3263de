"""`[loop.NAME]` tables: read from the workspace config or a --policy file, checked on load
with errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.automation import InvalidLoopPolicy, LoopNotFound, load_loops
from tether.automation.policy import get_loop, parse_loop

GOOD = {
    "model": "churn",
    "pipeline": "proj.train:training",
    "dataset": "churn",
    "target": "y",
    "gate": {"primary": "accuracy"},
}


def test_defaults_and_triggers(tmp_path: Path) -> None:
    policy = tmp_path / "loops.toml"
    policy.write_text(
        '[loop.churn]\nmodel = "churn"\npipeline = "p:t"\ndataset = "churn"\ntarget = "y"\n'
        'gate = { primary = "accuracy" }\n'
        '[loop.churn.triggers]\nschedule = "0 3 * * *"\nnew_data = true\ndrift = 0.3\n'
        'performance = { metric = "accuracy", below = 0.8 }\n'
        "[loop.churn.retry]\nbackoff_s = 10\n"
    )
    loop = get_loop(load_loops(tmp_path / "nowhere.toml", policy), "churn")
    assert (loop.alias, loop.eval_data, loop.data_param) == ("champion", "churn", "data")
    assert loop.triggers.new_data == "churn" and loop.triggers.drift == 0.3
    assert loop.triggers.performance is not None and loop.triggers.performance.below == 0.8
    assert [loop.retry.wait_s(n) for n in (1, 2, 3)] == [10, 20, 40]


def test_no_loop_table_means_no_loops_and_an_unknown_name_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / ".tether" / "config.toml"
    config.parent.mkdir()
    config.write_text('[core]\nproject = "p"\n')
    assert load_loops(config) == {}
    with pytest.raises(LoopNotFound, match="no loop 'x'"):
        get_loop({}, "x")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"model": None}, "loop.l.model"),
        ({"model": 3}, "loop.l.model"),
        ({"pipeline": "no_colon"}, "loop.l.pipeline"),
        ({"dataset": "churn@3"}, "loop.l.dataset"),
        ({"gate": None}, "loop.l.gate"),
        ({"gate": {"primary": "nonsense-metric", "bogus": 1}}, "loop.l.gate"),
        ({"gate": "missing.toml"}, "loop.l.gate"),
        ({"executor": "nope"}, "loop.l.executor"),
        ({"colour": "red"}, "loop.l.colour"),
        ({"triggers": {"schedule": "every day"}}, "loop.l.triggers.schedule"),
        ({"triggers": {"drift": 1.5}}, "loop.l.triggers.drift"),
        ({"triggers": {"drift": "high"}}, "loop.l.triggers.drift"),
        ({"triggers": {"performance": {"metric": "accuracy"}}}, "loop.l.triggers.performance"),
        ({"triggers": {"new_data": 3}}, "loop.l.triggers.new_data"),
        ({"triggers": {"hourly": True}}, "loop.l.triggers.hourly"),
        ({"retry": {"max_attempts": 0}}, "loop.l.retry.max_attempts"),
        ({"retry": {"backoff_s": -1}}, "loop.l.retry.backoff_s"),
    ],
)
def test_a_bad_value_is_an_error_naming_its_key(change: dict[str, object], key: str) -> None:
    table = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(InvalidLoopPolicy) as e:
        parse_loop("l", table, source="config.toml")
    assert e.value.key == key
    assert str(e.value).startswith(f"{key} in config.toml: ")


def test_a_gate_file_is_found_from_the_workspace_root(tmp_path: Path) -> None:
    (tmp_path / "gate.toml").write_text('primary = "accuracy"\n')
    loop = parse_loop("l", {**GOOD, "gate": "gate.toml"}, base=tmp_path)
    assert loop.gate == str(tmp_path / "gate.toml")


def test_not_toml_is_an_error(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text("[loop.l\n")
    with pytest.raises(InvalidLoopPolicy, match="not valid TOML"):
        load_loops(tmp_path / "c.toml", policy)
    with pytest.raises(InvalidLoopPolicy, match="does not exist"):
        load_loops(tmp_path / "c.toml", tmp_path / "absent.toml")


def test_loop_tables_sit_beside_the_settings_in_the_workspace_config(tmp_path: Path) -> None:
    from tether.config import init_workspace
    from tether.workspace import Workspace

    init_workspace(tmp_path / "ws", project="p")
    config = tmp_path / "ws" / ".tether" / "config.toml"
    config.write_text(
        config.read_text() + '\n[loop.l]\nmodel = "m"\npipeline = "a:b"\ndataset = "d"\n'
        'target = "y"\ngate = { primary = "accuracy" }\n'
    )
    ws = Workspace(tmp_path / "ws")
    assert ws.settings.project == "p"
    assert list(load_loops(ws.config_path)) == ["l"]
