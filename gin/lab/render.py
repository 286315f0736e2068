"""Jinja2 rendering of every file the lab writes (FRR, sshd, snmpd configs).

`finalize` refuses any value holding a control character: a newline smuggled into a
name must never become a config command, even if validation upstream missed it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jinja2

from gin.lab.errors import LabError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _finalize(value: Any) -> Any:
    if isinstance(value, str) and _CONTROL.search(value):
        raise LabError(f"refusing to render {value!r}: control characters in a config value")
    return value


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared template environment (strict: an undefined variable is an error)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("gin.lab", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_finalize,
    )


def render(template: str, **context: Any) -> str:
    """Render one template from gin/lab/templates."""
    return environment().get_template(template).render(**context)
