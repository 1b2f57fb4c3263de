"""Automatic capture of what produced a run: code (git), environment, host and command.

Redacting secrets is ``tether.tracking.capture.redact`` (the module: no public name here
shadows a submodule).
"""

from tether.tracking.capture.bundle import Capture, capture_all
from tether.tracking.capture.command import CommandInfo, capture_command
from tether.tracking.capture.environment import (
    EnvironmentInfo,
    PackageChange,
    capture_environment,
    diff_packages,
)
from tether.tracking.capture.git import GitInfo, capture_git
from tether.tracking.capture.host import GpuInfo, HostInfo, capture_host
from tether.tracking.capture.redact import (
    REDACTED,
    is_secret_name,
    redact_argv,
    strip_url_credentials,
)

__all__ = [
    "REDACTED",
    "Capture",
    "CommandInfo",
    "EnvironmentInfo",
    "GitInfo",
    "GpuInfo",
    "HostInfo",
    "PackageChange",
    "capture_all",
    "capture_command",
    "capture_environment",
    "capture_git",
    "capture_host",
    "diff_packages",
    "is_secret_name",
    "redact_argv",
    "strip_url_credentials",
]
