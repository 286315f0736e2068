"""Which router platforms the directory accepts: every name registered as a platform.

Platforms are defined on the devices floor (``devices/platforms/``), which the directory
does not import; what the directory needs is only their names, and those are installed
metadata: the entry points of the ``gin.platforms`` group (gin's own platforms and any
installed distribution's).  So a device of an out-of-tree platform is stored like any other,
and a name nobody registered is refused at the store with the list of known ones.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.metadata import entry_points

#: The entry-point group every platform is registered under.
GROUP = "gin.platforms"
#: What a platform name looks like (it is stored in a 32-character column).
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")


@cache
def registered() -> tuple[str, ...]:
    """The registered platform names, sorted (read once a process)."""
    return tuple(sorted({ep.name for ep in entry_points(group=GROUP)
                         if NAME_RE.fullmatch(ep.name)}))
