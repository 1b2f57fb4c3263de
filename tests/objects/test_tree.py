"""Tree manifests: canonical, order-independent, round-trip; paths are validated."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.errors import InvalidInput
from tether.objects import Tree, TreeEntry
from tether.objects.tree import check_path

_part = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"),
    min_size=1,
    max_size=8,
).filter(lambda s: s not in (".", ".."))
_path = st.lists(_part, min_size=1, max_size=4).map("/".join)
_digest = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
_entry = st.builds(
    TreeEntry,
    _path,
    _digest,
    st.integers(min_value=0, max_value=2**40),
    st.sampled_from([0o644, 0o755]),
)


def _valid(entries: list[TreeEntry]) -> list[TreeEntry]:
    """Drop duplicate paths and paths that are also another entry's folder."""
    out: dict[str, TreeEntry] = {}
    for e in entries:
        out.setdefault(e.path, e)
    paths = set(out)
    return [e for e in out.values() if not any(e.path.startswith(p + "/") for p in paths)]


@given(st.lists(_entry, max_size=30), st.randoms())
def test_manifest_is_canonical_and_order_independent(entries: list[TreeEntry], rnd: object) -> None:
    entries = _valid(entries)
    shuffled = list(entries)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = Tree.from_entries(entries), Tree.from_entries(shuffled)
    assert a.to_bytes() == b.to_bytes()
    assert a.digest == b.digest
    assert [e.path for e in a.entries] == sorted(e.path for e in entries)


@given(st.lists(_entry, max_size=30))
def test_manifest_round_trip(entries: list[TreeEntry]) -> None:
    tree = Tree.from_entries(_valid(entries))
    again = Tree.from_bytes(tree.to_bytes())
    assert again == tree
    assert again.to_bytes() == tree.to_bytes()


@pytest.mark.parametrize(
    "bad", ["", "/abs", "a/../b", "..", "a//b", "./a", "a/", "a\x00b", "\udcff.bin", "a/b\ud800"]
)
def test_bad_paths_rejected(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_path(bad)
    with pytest.raises(InvalidInput):
        Tree.from_entries([TreeEntry(bad, "0" * 64, 1)])


@pytest.mark.parametrize("name", ["\n", "a/\n", "a\n/b", "..\n", "\n/.\n"])
def test_names_ending_in_a_newline_are_valid(name: str) -> None:
    assert check_path(name) == name  # legal POSIX file names ($ would match before the newline)


def test_duplicate_and_clashing_paths_rejected() -> None:
    with pytest.raises(InvalidInput, match="twice"):
        Tree.from_entries([TreeEntry("a", "0" * 64, 1), TreeEntry("a", "1" * 64, 1)])
    with pytest.raises(InvalidInput, match="folder"):
        Tree.from_entries([TreeEntry("a", "0" * 64, 1), TreeEntry("a/b", "1" * 64, 1)])


def test_non_canonical_manifest_rejected() -> None:
    data = Tree.from_entries([TreeEntry("a", "0" * 64, 1)]).to_bytes()
    with pytest.raises(InvalidInput):
        Tree.from_bytes(data.replace(b",", b", "))
    with pytest.raises(InvalidInput):
        Tree.from_bytes(b"not json")


def test_a_manifest_naming_a_file_that_is_not_utf8_is_rejected() -> None:
    """JSON can escape a lone surrogate (what os.fsdecode makes of the byte 0xff); such a
    manifest is refused as invalid, not a crash while re-encoding it."""
    good = Tree.from_entries([TreeEntry("x.bin", "0" * 64, 1)]).to_bytes()
    with pytest.raises(InvalidInput, match="must be relative UTF-8"):
        Tree.from_bytes(good.replace(b'"x.bin"', b'"\\udcff.bin"'))
