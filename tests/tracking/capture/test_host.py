from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import pytest

from tether.tracking.capture import GpuInfo, capture_host
from tether.tracking.capture import host as host_module
from tether.tracking.capture.host import gpus, memory_total_bytes, parse_nvidia_smi


@pytest.fixture(autouse=True)
def fresh_gpu_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake nvidia-smi answers must not leak into the per-process cache."""
    monkeypatch.setattr(host_module, "_GPU_CACHE", [])


def fake_nvidia_smi(folder: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder.mkdir()
    binary = folder / "nvidia-smi"
    binary.write_text("#!/bin/sh\n" + script)
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_sane_values() -> None:
    warnings: list[str] = []
    host = capture_host(warnings=warnings)
    assert host.hostname == platform.node()
    assert host.os_name == platform.system()
    assert host.cpu_count is not None and host.cpu_count >= 1
    assert host.memory_total_bytes is not None and host.memory_total_bytes > 64 * 2**20
    assert host.user
    json.dumps(host.to_dict())


def test_memory_from_meminfo_or_sysconf(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384000 kB\nMemFree:         1000 kB\n")
    assert memory_total_bytes(meminfo=meminfo) == 16384000 * 1024
    warnings: list[str] = []
    fallback = memory_total_bytes(meminfo=tmp_path / "missing", warnings=warnings)
    if hasattr(os, "sysconf"):
        assert fallback == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        assert warnings == []


def test_no_nvidia_smi_means_no_gpus_and_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    warnings: list[str] = []
    host = capture_host(warnings=warnings)
    assert host.gpus == ()
    assert host.user is not None or warnings
    assert not any("GPU" in w for w in warnings)


def test_gpus_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvidia_smi(
        tmp_path / "bin",
        'echo "NVIDIA H100 80GB HBM3, 81559"\necho "NVIDIA H100 80GB HBM3, 81559"\n',
        monkeypatch,
    )
    found = capture_host().gpus
    assert found == (GpuInfo("NVIDIA H100 80GB HBM3", 81559),) * 2
    assert capture_host().to_dict()["gpus"][0] == {
        "name": "NVIDIA H100 80GB HBM3",
        "memory_total_mib": 81559,
    }


def test_failing_nvidia_smi_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvidia_smi(
        tmp_path / "bin",
        'echo "NVIDIA-SMI has failed because it could not communicate" >&2\nexit 9\n',
        monkeypatch,
    )
    warnings: list[str] = []
    assert gpus(warnings=warnings) == ()
    assert len(warnings) == 1 and "could not communicate" in warnings[0]


def test_hung_nvidia_smi_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvidia_smi(tmp_path / "bin", "exec sleep 5\n", monkeypatch)
    monkeypatch.setattr(host_module, "NVIDIA_SMI_TIMEOUT_S", 0.2)
    warnings: list[str] = []
    assert gpus(warnings=warnings) == ()
    assert len(warnings) == 1 and "longer than" in warnings[0]


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("", ()),
        ("Tesla T4, 15360\n", (GpuInfo("Tesla T4", 15360),)),
        ("Tesla T4, 15360 MiB\n", (GpuInfo("Tesla T4", 15360),)),
        ("Odd, Name, [N/A]\n", (GpuInfo("Odd, Name", None),)),
        ("NoMemory\n", (GpuInfo("NoMemory", None),)),
    ],
)
def test_parse_nvidia_smi(out: str, expected: tuple[GpuInfo, ...]) -> None:
    assert parse_nvidia_smi(out) == expected
