"""`tether loop tick` in this process, SIGKILLed the moment promote_if_better returns (the
alias moved, nothing recorded after it yet): the restart test's worst moment, hit exactly."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import tether.models as tm
from tether.cli.main import main

real = tm.promote_if_better


def promote_then_die(*args: Any, **kwargs: Any) -> Any:
    decision = real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
    return decision


tm.promote_if_better = promote_then_die  # type: ignore[assignment]
sys.exit(main(["loop", "tick", *sys.argv[1:]]))
