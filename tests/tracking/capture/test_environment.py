from __future__ import annotations

import importlib.metadata
import json
import platform
import sys
from pathlib import Path

import blake3
import pytest

from tether.tracking.capture import PackageChange, capture_environment, diff_packages
from tether.tracking.capture.environment import normalise_name, parse_packages


def fake_distribution(site: Path, name: str, version: str) -> None:
    """A minimal installed distribution: ``<name>-<version>.dist-info/METADATA``."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nName: not-a-header\n"
    )


def test_lists_every_installed_distribution() -> None:
    env = capture_environment()
    packages = env.package_list()
    assert f"pytest=={importlib.metadata.version('pytest')}" in packages
    assert f"blake3=={importlib.metadata.version('blake3')}" in packages
    names = [p.partition("==")[0] for p in packages]
    assert names == sorted(names)
    assert len(names) == len(set(names))
    assert all(n == normalise_name(n) for n in names)
    assert env.packages.endswith(b"\n")
    assert env.packages_digest == blake3.blake3(env.packages).hexdigest()


def test_interpreter_fields() -> None:
    env = capture_environment()
    assert env.python_version == platform.python_version()
    assert env.implementation == sys.implementation.name
    assert env.executable == sys.executable
    summary = env.to_dict()
    json.dumps(summary)
    assert summary["package_count"] == len(env.package_list())
    assert "packages" not in summary  # stored as an object, by digest


def test_digest_is_stable_and_follows_the_package_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = capture_environment(refresh=True)
    assert capture_environment(refresh=True).packages_digest == first.packages_digest
    assert capture_environment().packages_digest == first.packages_digest

    fake_distribution(tmp_path, "Tether_Fake.Pkg", "1.2.3")
    monkeypatch.syspath_prepend(str(tmp_path))
    changed = capture_environment()  # sys.path changed, so the cache does not answer
    assert "tether-fake-pkg==1.2.3" in changed.package_list()
    assert "not-a-header" not in changed.packages.decode()
    assert changed.packages_digest != first.packages_digest


def test_first_distribution_on_sys_path_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_distribution(tmp_path / "later", "tether-dup", "1.0")
    fake_distribution(tmp_path / "first", "tether-dup", "2.0")
    monkeypatch.syspath_prepend(str(tmp_path / "later"))
    monkeypatch.syspath_prepend(str(tmp_path / "first"))
    dup = [p for p in capture_environment().package_list() if p.startswith("tether-dup==")]
    assert dup == ["tether-dup==2.0"]


def test_a_broken_distribution_does_not_lose_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken-0.1.dist-info").mkdir()  # no METADATA at all
    fake_distribution(tmp_path, "tether-ok", "0.2")
    monkeypatch.syspath_prepend(str(tmp_path))
    packages = capture_environment().package_list()
    assert "tether-ok==0.2" in packages
    assert f"pytest=={importlib.metadata.version('pytest')}" in packages


def test_diff_packages() -> None:
    recorded = b"numpy==1.26.0\npandas==2.1.0\nscikit-learn==1.3.0\n"
    current = ["numpy==2.0.0", "Scikit_Learn==1.3.0", "torch==2.3.0"]
    assert diff_packages(recorded, current) == [
        PackageChange("numpy", "1.26.0", "2.0.0"),
        PackageChange("pandas", "2.1.0", None),
        PackageChange("torch", None, "2.3.0"),
    ]
    assert diff_packages(recorded, recorded) == []
    assert str(PackageChange("pandas", "2.1.0", None)) == "pandas: 2.1.0 -> (absent)"


def test_diff_against_the_current_environment() -> None:
    env = capture_environment()
    assert diff_packages(env.packages) == []
    changes = diff_packages([*env.package_list(), "tether-not-installed==0.0.1"])
    assert [c.to_dict() for c in changes] == [
        {"name": "tether-not-installed", "recorded": "0.0.1", "current": None}
    ]


def test_parse_packages_accepts_text_and_skips_comments() -> None:
    assert parse_packages("# env\nFoo.Bar == 1.0\n\nbaz\n") == {"foo-bar": "1.0", "baz": ""}
