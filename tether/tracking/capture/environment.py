"""The Python environment a run used: interpreter and the resolved list of installed packages.

The package list is canonical bytes (``name==version``, one per line, normalised names,
sorted), so runs in the same environment share one stored object named by its BLAKE3 digest.
It is computed once per process and ``sys.path``, because reading every distribution's
metadata costs tens of milliseconds.
"""

from __future__ import annotations

import functools
import platform
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import importlib.metadata

_NORMALISE = re.compile(r"[-_.]+")

# (sys.path at the time) -> (package bytes, digest)
_CACHE: dict[tuple[str, ...], tuple[bytes, str]] = {}


@dataclass(frozen=True)
class EnvironmentInfo:
    """The interpreter and its resolved package list, ``packages``, named by ``packages_digest``."""

    python_version: str
    implementation: str
    executable: str
    platform: str
    packages: bytes
    packages_digest: str

    def package_list(self) -> list[str]:
        """``packages`` as ``name==version`` strings."""
        return self.packages.decode("utf-8").splitlines()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary; the package list itself is stored as an object by its digest."""
        return {
            "python_version": self.python_version,
            "implementation": self.implementation,
            "executable": self.executable,
            "platform": self.platform,
            "packages_digest": self.packages_digest,
            "package_count": _line_count(self.packages),
        }


@functools.lru_cache(maxsize=8)  # the same bytes object on every run start of a process
def _line_count(packages: bytes) -> int:
    return len(packages.decode("utf-8").splitlines())


@dataclass(frozen=True)
class PackageChange:
    """A package whose version differs between a recorded environment and the current one.

    ``recorded`` or ``current`` is None when the package is missing on that side.
    """

    name: str
    recorded: str | None
    current: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "recorded": self.recorded, "current": self.current}

    def __str__(self) -> str:
        return f"{self.name}: {self.recorded or '(absent)'} -> {self.current or '(absent)'}"


def normalise_name(name: str) -> str:
    """PEP 503 normalised distribution name: ``Foo_Bar.baz`` -> ``foo-bar-baz``."""
    return _NORMALISE.sub("-", name).lower()


def capture_environment(*, refresh: bool = False) -> EnvironmentInfo:
    """The current interpreter and its packages; the package list is cached per process."""
    packages, digest = installed_packages(refresh=refresh)
    return EnvironmentInfo(
        python_version=platform.python_version(),
        implementation=sys.implementation.name,
        executable=sys.executable,
        platform=platform.platform(),
        packages=packages,
        packages_digest=digest,
    )


def installed_packages(*, refresh: bool = False) -> tuple[bytes, str]:
    """(canonical ``name==version`` lines, their BLAKE3 hex digest) for this interpreter.

    Every distribution importlib.metadata finds on ``sys.path``; where one name is installed
    twice, the first on ``sys.path`` wins, as it does for ``import``.
    """
    key = tuple(sys.path)
    if not refresh and key in _CACHE:
        return _CACHE[key]
    import importlib.metadata

    import blake3

    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        try:
            name, version = _name_and_version(dist)
        except Exception:  # broken metadata of one package must not lose the rest
            continue
        if name and version:
            found.setdefault(normalise_name(name), version)
    data = "".join(f"{n}=={found[n]}\n" for n in sorted(found)).encode("utf-8")
    result = (data, str(blake3.blake3(data).hexdigest()))
    _CACHE.clear()
    _CACHE[key] = result
    return result


def _name_and_version(dist: importlib.metadata.Distribution) -> tuple[str | None, str | None]:
    """Name and version from the metadata headers, read directly.

    ``dist.metadata`` parses the whole file with the email parser, long description included;
    that is 90% of the cost of listing packages, so only the header block is scanned here.
    """
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    name = version = None
    for line in (text or "").splitlines():
        if not line:
            break  # end of the headers; the description follows
        if line.startswith("Name:"):
            name = line[5:].strip()
        elif line.startswith("Version:"):
            version = line[8:].strip()
        if name and version:
            return name, version
    return dist.metadata["Name"], dist.version


def parse_packages(packages: bytes | str | Iterable[str]) -> dict[str, str]:
    """``{normalised name: version}`` from canonical bytes or ``name==version`` strings."""
    if isinstance(packages, bytes):
        packages = packages.decode("utf-8")
    lines = packages.splitlines() if isinstance(packages, str) else packages
    out: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        out[normalise_name(name.strip())] = version.strip() if sep else ""
    return out


def diff_packages(
    recorded: bytes | str | Iterable[str],
    current: bytes | str | Iterable[str] | None = None,
) -> list[PackageChange]:
    """Packages added, removed or changed from ``recorded`` to ``current`` (default: now).

    Sorted by name; empty when both environments match. Used to warn before reproducing a run.
    """
    before = parse_packages(recorded)
    after = parse_packages(installed_packages()[0] if current is None else current)
    return [
        PackageChange(name, before.get(name), after.get(name))
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]
