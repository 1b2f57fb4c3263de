"""Shell steps: any command as a step, with files in and files out.

``shell_step("awk -f prog.awk {data} > {out}", inputs={"data": ref}, outputs={"out": "r.csv"})``
restores each input as a file (or folder) and substitutes ``{name}`` with its shell-quoted path;
each declared output gets a fresh path to write; after a zero exit the outputs are collected as
stored files. Only known names are substituted, so awk's ``{ print $1 }`` is left alone. The
command runs with ``/bin/sh`` in the folder the pipeline started in, so relative paths to
scripts work; those scripts (any word of the command naming a project file, plus ``code=``)
are part of the cache key.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.pipelines.errors import InvalidPipeline, StepFailed
from tether.pipelines.graph import Node, current_graph
from tether.pipelines.materializers import PathMaterializer
from tether.pipelines.source import files_digest
from tether.pipelines.step_def import StepOptions, _validate
from tether.pipelines.task import ShellSpec, StepTask
from tether.pipelines.values import StoredValue, data_path, restore, store_folder_with

if TYPE_CHECKING:
    from tether.objects import ObjectStore

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
STDERR_TAIL = 2000


@dataclass
class ShellStep:
    """The definition behind one ``shell_step`` call."""

    command: str | tuple[str, ...]
    output_paths: dict[str, str]
    options: StepOptions
    env: dict[str, str] | None
    code: tuple[Path, ...]
    kind = "shell"

    @property
    def name(self) -> str:
        return self.options.name

    @property
    def output_spec(self) -> str | tuple[str, ...]:
        names = tuple(self.output_paths)
        return names[0] if len(names) == 1 else names

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.output_paths)

    def spec(self) -> ShellSpec:
        return ShellSpec(self.command, dict(self.output_paths), self.env)

    def code_digest(self, cwd: Path) -> str:
        """The command text and the content of every project file it names."""
        words = list(self.command) if isinstance(self.command, tuple) else _split(self.command)
        files = set(self.code)
        for w in words:
            if "{" in w or not w or w.startswith("-"):
                continue
            p = (cwd / w).resolve()
            try:
                if p.is_file() and p.is_relative_to(cwd.resolve()):
                    files.add(p)
            except OSError:
                continue
        text = repr(self.command) + "|" + repr(sorted(self.output_paths.items()))
        return text + "|" + files_digest(files)


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def shell_step(
    command: str | Sequence[str],
    *,
    inputs: Mapping[str, Any] | None = None,
    outputs: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    timeout: float | None = None,
    resources: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    code: Sequence[str | os.PathLike[str]] = (),
) -> Any:
    """Add a step that runs ``command``; call it inside a ``@pipeline`` function.

    ``inputs`` maps placeholder names to step outputs, paths or values (each becomes a file);
    ``outputs`` maps placeholder names to the relative file or folder names the command writes;
    ``params`` are substituted as text. A list command runs without a shell. Returns the handle
    of the one output, or the handles of several (unpack or index by name).
    """
    graph = current_graph()
    if graph is None:
        raise InvalidPipeline("shell_step(...) must be called inside a @pipeline function")
    outs = dict(outputs or {})
    for out_name, rel in outs.items():
        if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise InvalidPipeline(
                f"output {out_name!r} of a shell step must be a relative path inside the "
                f"step's output folder, not {rel!r}"
            )
    base = name or _default_name(command)
    opts = StepOptions(
        base, cache=cache, retries=retries, timeout=timeout, resources=dict(resources or {})
    )
    _validate(opts)
    cmd = command if isinstance(command, str) else tuple(str(c) for c in command)
    overlap = set(inputs or {}) & set(outs) | (set(params or {}) & (set(inputs or {}) | set(outs)))
    if overlap:
        raise InvalidPipeline(f"shell step {base!r}: names used twice: {sorted(overlap)}")
    definition = ShellStep(
        cmd, outs, opts, dict(env) if env else None, tuple(Path(c).resolve() for c in code)
    )
    node = Node(graph.unique_name(base), definition, {}, {}, definition.outputs)
    for key, value in (params or {}).items():
        node.params[key] = value
    for key, value in (inputs or {}).items():
        graph.classify(base, key, Path(value) if isinstance(value, str) else value, node)
    return graph.add(node)


def _default_name(command: str | Sequence[str]) -> str:
    words = _split(command) if isinstance(command, str) else list(command)
    word = Path(words[0]).name if words else "shell"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", word) or "shell"


def _substitute(template: str, values: Mapping[str, str], quote: bool) -> str:
    def repl(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            return m.group(0)
        return shlex.quote(values[key]) if quote else values[key]

    return _PLACEHOLDER.sub(repl, template)


def run_shell(task: StepTask, objects: ObjectStore, log: Any) -> dict[str, StoredValue]:
    """Run a shell task; write its stdout and stderr to ``log``; return its stored outputs."""
    assert task.shell is not None
    cache_dir = Path(task.cache_dir)
    scratch = Path(task.scratch_dir)
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"shell-{task.step}-", dir=scratch))
    values: dict[str, str] = {k: _param_text(v) for k, v in task.params.items()}
    for name, digest in task.inputs.items():
        values[name] = str(data_path(restore(objects, digest, cache_dir)))
    out_paths: dict[str, Path] = {}
    for name, rel in task.shell.outputs.items():
        p = work / "out" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        out_paths[name] = p
        values[name] = str(p)
    env = {**os.environ, **(task.shell.env or {}), "TETHER_STEP": task.step}
    cmd = task.shell.command
    if isinstance(cmd, str):
        args: str | list[str] = _substitute(cmd, values, quote=True)
    else:
        args = [_substitute(c, values, quote=False) for c in cmd]
    out_file, err_file = work / "stdout", work / "stderr"
    try:
        with out_file.open("wb") as out, err_file.open("wb") as err:
            proc = subprocess.run(
                args,
                shell=isinstance(args, str),
                cwd=task.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                timeout=task.timeout,
                check=False,
            )
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        code = None
    except OSError as e:
        raise StepFailed(task.step, f"cannot start the command: {e}") from None
    stdout = out_file.read_bytes().decode("utf-8", "replace")
    stderr = err_file.read_bytes().decode("utf-8", "replace")
    log.write(stdout)
    if stderr:
        log.write(("" if not stdout or stdout.endswith("\n") else "\n") + stderr)
    if code is None:
        raise TimeoutError(f"shell step timed out after {task.timeout} s")
    if code != 0:
        tail = stderr[-STDERR_TAIL:].strip() or "(no stderr)"
        raise StepFailed(task.step, f"command exited with status {code}; stderr:\n{tail}")
    stored: dict[str, StoredValue] = {}
    materializer = PathMaterializer()
    for name, p in out_paths.items():
        if not p.exists():
            raise StepFailed(
                task.step,
                f"the command exited 0 but did not write output {name!r} "
                f"({task.shell.outputs[name]})",
            )
        stored[name] = store_folder_with(objects, materializer, p, scratch)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return stored


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value)
