"""`tether loop tick` in this process, SIGKILLed the moment promote_if_better starts gating
(the challenger trained and recorded, the alias not moved yet): the restart test's gate moment."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import tether.models.promote as promote
from tether.cli.main import main


def die(*args: Any, **kwargs: Any) -> Any:
    os.kill(os.getpid(), signal.SIGKILL)


promote.gate = die  # type: ignore[assignment]
sys.exit(main(["loop", "tick", *sys.argv[1:]]))
