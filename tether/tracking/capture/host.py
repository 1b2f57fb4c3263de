"""The machine a run ran on: name, user, OS, CPUs, memory and GPUs.

No psutil: memory comes from ``/proc/meminfo`` or ``os.sysconf``, GPUs from ``nvidia-smi``
when it is installed (queried once per process, with a short timeout).
"""

from __future__ import annotations

import getpass
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NVIDIA_SMI_TIMEOUT_S = 5.0
MEMINFO = Path("/proc/meminfo")

# nvidia-smi's answer (or the reason there is none), once per process
_GPU_CACHE: list[tuple[tuple[GpuInfo, ...], str | None]] = []


@dataclass(frozen=True)
class GpuInfo:
    name: str
    memory_total_mib: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "memory_total_mib": self.memory_total_mib}


@dataclass(frozen=True)
class HostInfo:
    """Where a run ran. Values that could not be read are None."""

    hostname: str
    user: str | None
    os_name: str
    os_release: str
    machine: str
    cpu_count: int | None
    memory_total_bytes: int | None
    gpus: tuple[GpuInfo, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "user": self.user,
            "os_name": self.os_name,
            "os_release": self.os_release,
            "machine": self.machine,
            "cpu_count": self.cpu_count,
            "memory_total_bytes": self.memory_total_bytes,
            "gpus": [g.to_dict() for g in self.gpus],
        }


def capture_host(*, warnings: list[str] | None = None) -> HostInfo:
    """This machine; what cannot be read is None or empty, with the reason in ``warnings``."""
    return HostInfo(
        hostname=platform.node(),
        user=_user(warnings),
        os_name=platform.system(),
        os_release=platform.release(),
        machine=platform.machine(),
        cpu_count=os.cpu_count(),
        memory_total_bytes=memory_total_bytes(warnings=warnings),
        gpus=gpus(warnings=warnings),
    )


def _user(warnings: list[str] | None) -> str | None:
    try:
        return getpass.getuser()
    except Exception as e:  # no passwd entry and no USER/LOGNAME (some containers)
        _warn(warnings, f"user name not recorded: {e}")
        return None


def memory_total_bytes(*, meminfo: Path = MEMINFO, warnings: list[str] | None = None) -> int | None:
    """Physical memory in bytes, from ``/proc/meminfo`` or else ``os.sysconf``."""
    try:
        with meminfo.open("rb") as f:
            for line in f:
                if line.startswith(b"MemTotal:"):
                    value, unit = line.split()[1:3]
                    if unit.lower() == b"kb":
                        return int(value) * 1024
                    break
    except (OSError, ValueError):
        pass  # no readable /proc/meminfo (macOS, some containers): ask sysconf below
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page_size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError) as e:
        _warn(warnings, f"total memory not recorded: {e}")
        return None
    if pages <= 0 or page_size <= 0:
        _warn(warnings, "total memory not recorded: the OS reported none")
        return None
    return pages * page_size


def gpus(*, warnings: list[str] | None = None, refresh: bool = False) -> tuple[GpuInfo, ...]:
    """NVIDIA GPUs seen by ``nvidia-smi``; empty when it is not installed or fails."""
    if refresh or not _GPU_CACHE:
        _GPU_CACHE[:] = [_query_nvidia_smi()]
    found, problem = _GPU_CACHE[0]
    if problem:
        _warn(warnings, problem)
    return found


def _query_nvidia_smi() -> tuple[tuple[GpuInfo, ...], str | None]:
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return (), None  # no NVIDIA driver: nothing to record, nothing wrong
    try:
        result = subprocess.run(
            [binary, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            timeout=NVIDIA_SMI_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return (), f"GPUs not recorded: nvidia-smi took longer than {NVIDIA_SMI_TIMEOUT_S:g} s"
    except OSError as e:
        return (), f"GPUs not recorded: could not run nvidia-smi: {e}"
    if result.returncode != 0:
        message = (
            result.stderr.decode(errors="replace").strip()
            or result.stdout.decode(errors="replace").strip()
        )
        return (), f"GPUs not recorded: nvidia-smi failed: {message[:200]}"
    return parse_nvidia_smi(result.stdout.decode(errors="replace")), None


def parse_nvidia_smi(out: str) -> tuple[GpuInfo, ...]:
    """GPUs from ``nvidia-smi --query-gpu=name,memory.total --format=csv,noheader[,nounits]``."""
    found = []
    for line in out.splitlines():
        if not line.strip():
            continue
        name, _, memory = line.rpartition(",")
        if not name:
            name, memory = memory, ""
        digits = memory.strip().removesuffix("MiB").strip()
        found.append(GpuInfo(name.strip(), int(digits) if digits.isdigit() else None))
    return tuple(found)


def _warn(warnings: list[str] | None, message: str) -> None:
    if warnings is not None:
        warnings.append(message)
