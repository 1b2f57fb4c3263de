"""Style-preserving edits of a committed TOML file (tomlkit, imported only here, on use).

tomlkit keeps every comment, blank line and spacing of what it does not touch, and quotes keys
and values correctly whatever they hold. It counts the comments and blank lines that follow a
table's last key as part of that table; in a hand-written file they introduce what comes next
(``# tuning`` above ``[objects]``). So after each edit the text is compared line by line with
the text before: a key added to a table goes after the table's last key, not after those
comments, and a table removed leaves them in place. Lines the edit writes get the file's own
line endings (``\\r\\n`` stays ``\\r\\n``).

Before the file is replaced (atomically), the new text is parsed again and compared with the
settings the caller intended; any difference leaves the file untouched.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.config.atomic import write_text_atomic
from tether.config.errors import (
    ConfigNotEditable,
    InvalidSetting,
)

Table = tuple[str, ...]
"""A table's dotted name as its parts: ``("remotes", "origin")``."""


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The text of a TOML file (empty when it does not exist) and its parsed content."""
    try:
        text = path.read_bytes().decode("utf-8")  # not read_text: keep \r\n as it is
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidSetting(f"cannot read config file {path}: {e}") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidSetting(f"config file {path} is not valid TOML: {e}") from None


def toml_string(value: str) -> str:
    """``value`` as a TOML string, quoted and escaped whatever it holds."""
    import tomlkit

    return str(tomlkit.string(value).as_string())


def _lines(text: str) -> list[str]:
    # split on "\n" only: str.splitlines() would also split inside strings (U+2028...)
    return re.findall(r"[^\n]*\n|[^\n]+\Z", text)


def _is_trivia(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


class TomlEditor:
    """Edits of one TOML file's text; :meth:`write` checks and saves them."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self.newline = "\r\n" if "\r\n" in text else "\n"

    # -- edits ------------------------------------------------------------------------------

    def set_value(self, table: Table, key: str, value: str) -> None:
        """Set ``key = value`` in ``[table]``, adding the table at the end when there is none.

        An existing key keeps its place and its comment.
        """
        doc = self._parse()
        container = self._find(doc, table)
        if container is None:
            self.add_table(table, {key: value})
            return
        try:
            container[key] = value
        except Exception as e:  # tomlkit refuses some shapes (e.g. a value where a table is)
            raise ConfigNotEditable(self.path, f"cannot set {'.'.join((*table, key))}: {e}") from e
        self._take(doc.as_string(), move_insert=True)

    def delete_value(self, table: Table, key: str) -> None:
        doc = self._parse()
        container = self._find(doc, table)
        if container is not None and key in container:
            del container[key]
            self._take(doc.as_string())

    def add_table(self, table: Table, values: Mapping[str, str]) -> None:
        """Append ``[table]`` with ``values`` at the end of the file, after a blank line."""
        import tomlkit

        body = tomlkit.table()
        for key, value in values.items():
            body[key] = value
        fragment = tomlkit.document()
        node: Any = fragment
        for part in table[:-1]:
            node[part] = tomlkit.table(is_super_table=True)
            node = node[part]
        node[table[-1]] = body
        lines = _lines(self.text)
        while lines and not lines[-1].strip():
            lines.pop()
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += self.newline
        head = "".join(lines) + (self.newline if lines else "")
        self.text = head + self._endings(fragment.as_string().lstrip("\n"))

    def delete_table(self, table: Table) -> None:
        """Remove ``[table]`` with its keys and the comments inside it; the comments and blank
        lines after its last key stay, for what follows."""
        doc = self._parse()
        parent = self._find(doc, table[:-1]) if len(table) > 1 else doc
        if parent is None or table[-1] not in parent:
            return
        del parent[table[-1]]
        self._take(doc.as_string(), keep_trailing=True)

    def write(self, expected: Mapping[str, Any], what: str) -> None:
        """Save the text atomically if it parses to ``expected`` (empty tables aside)."""
        try:
            written = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigNotEditable(self.path, f"{what} would make it invalid TOML: {e}") from None
        if _without_empty_tables(written) != _without_empty_tables(expected):
            raise ConfigNotEditable(self.path, f"{what} did not give the intended settings")
        write_text_atomic(self.path, self.text)

    # -- helpers ----------------------------------------------------------------------------

    def _parse(self) -> Any:
        import tomlkit

        try:
            return tomlkit.parse(self.text)
        except Exception as e:  # tomlkit's ParseError; tomllib read the file already
            raise ConfigNotEditable(self.path, f"tomlkit cannot parse it: {e}") from None

    def _find(self, doc: Any, table: Table) -> Any:
        """The table (or inline table) at ``table``, or None when it does not exist."""
        node = doc
        for part in table:
            if not hasattr(node, "keys") or part not in node:
                return None
            node = node[part]
        if not hasattr(node, "keys"):
            raise ConfigNotEditable(self.path, f"{'.'.join(table)} is not a table")
        return node

    def _take(self, new: str, *, move_insert: bool = False, keep_trailing: bool = False) -> None:
        """Adopt tomlkit's rendering ``new`` of the edited document, placed as described in
        the module docstring, with the file's line endings on the lines it wrote."""
        old_lines, new_lines = _lines(self.text), _lines(new)
        ops = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes()
        changed = [op for op in ops if op[0] != "equal"]
        if len(changed) == 1:
            tag, i1, i2, j1, j2 = changed[0]
            if tag == "insert" and move_insert:
                # back over the comments and blank lines that end the table
                at = i1
                while at > 0 and _is_trivia(old_lines[at - 1]):
                    at -= 1
                if at > 0 and not old_lines[at - 1].endswith("\n"):
                    at = i1  # the last key has no line end: leave it to tomlkit
                added = [self._ending(line) for line in new_lines[j1:j2]]
                self.text = "".join(old_lines[:at] + added + old_lines[at:])
                return
            if tag == "delete" and keep_trailing:
                removed = old_lines[i1:i2]
                keep = len(removed)
                while keep > 0 and _is_trivia(removed[keep - 1]):
                    keep -= 1
                before, after = old_lines[:i1], removed[keep:] + old_lines[i2:]
                # do not leave two blank lines where the table was, nor one at the end
                if before and not before[-1].strip() and (not after or not after[0].strip()):
                    before = before[:-1]
                self.text = "".join(before + after)
                return
        out: list[str] = []
        for tag, i1, i2, j1, j2 in ops:
            if tag == "equal":
                out += old_lines[i1:i2]
            else:
                out += [self._ending(line) for line in new_lines[j1:j2]]
        self.text = "".join(out)

    def _ending(self, line: str) -> str:
        if self.newline == "\r\n" and line.endswith("\n") and not line.endswith("\r\n"):
            return line[:-1] + "\r\n"
        return line

    def _endings(self, text: str) -> str:
        return "".join(self._ending(line) for line in _lines(text))


def _without_empty_tables(data: Mapping[str, Any]) -> dict[str, Any]:
    """Tables left empty by an edit mean the same as none (``[core]`` with no keys)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            value = _without_empty_tables(value)
            if not value:
                continue
        out[key] = value
    return out
