"""The Jinja2 environment of a platform's templates, and the filters every template uses.

User text (descriptions, agency names, banners) reaches a device config only through
the ``cfg_text`` filter, which keeps a conservative character set: a newline, a quote or
a ``!`` in a name can never become a config command or break out of a quoted string.
Links, VPN router sides and the GSI cut-off all render through :func:`environment`, so
the filters are the same wherever a config is made.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import jinja2

from devices import platforms

SAFE = re.compile(r"[^A-Za-z0-9 _.,:/()@#+=-]")


def cfg_text(value: object, max_len: int = 200) -> str:
    """User text made safe for any platform's config: one line, no quotes, no comment marks."""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    text = SAFE.sub("_", text)
    text = " ".join(text.split())[:max_len].strip()
    return text or "-"


def netmask(iface: object) -> str:
    """``192.0.2.0/31`` -> ``192.0.2.0 255.255.255.254`` (IOS wants address and mask)."""
    return f"{iface.ip} {iface.netmask}"  # type: ignore[attr-defined]


@cache
def environment(platform_name: str) -> jinja2.Environment:
    """The platform's template folder with strict undefined names and gin's filters."""
    platform = platforms.get(platform_name)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(platform.template_dir),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # device configs, not HTML: safety comes from cfg_text
    )
    env.filters["cfg_text"] = cfg_text
    env.filters["netmask"] = netmask
    return env
