"""Shell steps: a real awk program between Python steps; failures carry the stderr tail."""

from __future__ import annotations

from pathlib import Path

from .conftest import WriteModule

AWK = (
    'BEGIN { FS = "," } NR > 1 { total[$1] += $2 } END { for (k in total) print k "," total[k] }\n'
)

FLOW = """
from pathlib import Path
from tether.pipelines import step, pipeline, shell_step

@step
def write_csv(rows: list) -> Path:
    path = Path("in.csv")
    path.write_text("key,value\\n" + "".join(f"{k},{v}\\n" for k, v in rows))
    return path

@step
def read_sums(path: Path) -> dict:
    return {k: int(v) for k, v in (line.split(",") for line in path.read_text().split())}

@pipeline
def sums(rows: list = [["a", 1], ["b", 2], ["a", 3]]):
    csv = write_csv(rows)
    out = shell_step(
        "awk -f sum.awk {data} > {out}",
        inputs={"data": csv},
        outputs={"out": "sums.csv"},
        name="awk_sum",
    )
    return read_sums(out)

@pipeline
def broken():
    return shell_step("echo partial; echo 'bad things' >&2; exit 3", outputs={"o": "o.txt"})
"""


def test_an_awk_step_between_python_steps(
    write_module: WriteModule, workspace: Path, executor: str
) -> None:
    (workspace / "sum.awk").write_text(AWK)
    mod = write_module(FLOW)
    run = mod.sums(executor=executor)
    assert run.status == "finished", {n: s.error for n, s in run.steps.items()}
    assert run.output() == {"a": 4, "b": 2}
    assert run.steps["awk_sum"].load().name == "sums.csv"
    again = mod.sums(executor=executor)
    assert again.steps["awk_sum"].cached
    # the awk program is part of the shell step's cache key
    (workspace / "sum.awk").write_text(AWK.replace("total[$1] += $2", "total[$1] += 2 * $2"))
    edited = mod.sums(executor=executor)
    assert edited.steps["write_csv"].cached and not edited.steps["awk_sum"].cached
    assert edited.output() == {"a": 8, "b": 4}


def test_a_failing_command_fails_its_step_with_stderr(
    write_module: WriteModule, executor: str
) -> None:
    run = write_module(FLOW).broken(executor=executor, raise_on_failure=False)
    step = run.steps["echo"]
    assert run.status == "failed" and step.status == "failed"
    assert "status 3" in (step.error or "") and "bad things" in (step.error or "")
    assert "partial" in step.logs()
