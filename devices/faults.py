"""A fault hook for crash tests: ``GIN_FAULT`` makes the process SIGKILL itself at a named
step, as a power cut or the OOM killer would.

``GIN_FAULT=after:push:pe1`` kills the process once pe1's push is done (and journaled);
``before:save:*`` as the save of any device starts.  Several faults may be given, separated
by commas; the first that matches fires.  Unset, it costs one dictionary look-up per step.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable

WHEN = {"before": "start", "after": "done"}


def parse(spec: str) -> list[tuple[str, str, str]]:
    """``when:step:device`` items as (state, step, device); a bad item is one clear error."""
    out = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        parts = item.split(":")
        if len(parts) != 3 or parts[0] not in WHEN:
            raise ValueError(f"GIN_FAULT item {item!r}: write when:step:device, when being "
                             f"before or after (e.g. after:push:pe1)")
        out.append((WHEN[parts[0]], parts[1], parts[2]))
    return out


def armed() -> list[tuple[str, str, str]]:
    return parse(os.environ.get("GIN_FAULT", ""))


def strike(faults: Iterable[tuple[str, str, str]], step: str, state: str,
           device: str | None) -> None:
    """Kill this process now when (``state``, ``step``, ``device``) is armed."""
    for f_state, f_step, f_device in faults:
        if f_state == state and f_step == step and f_device in ("*", device or "verify"):
            os.kill(os.getpid(), signal.SIGKILL)
