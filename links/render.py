"""Render a link's intended configuration for both routers from the platform templates.

User text (descriptions, agency names, banners) reaches a device config only through
the ``cfg_text`` filter, which keeps a conservative character set: a newline, a quote or
a ``!`` in a name can never become a config command or break out of a quoted string.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import jinja2

from devices import platforms
from devices.errors import ConfigError
from links.intent import LinkIntent

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


def render_parts(intent: LinkIntent, side: str) -> tuple[str, str]:
    """(baseline, link) configuration of one end (``"pe"`` or ``"ce"``)."""
    end = intent.pe if side == "pe" else intent.ce
    env = environment(end.platform)
    context = {"link": intent, "pe": intent.pe, "ce": intent.ce, "me": end,
               "peer": intent.ce if side == "pe" else intent.pe, "baseline": intent.baseline}
    try:
        baseline, link = env.get_template("baseline.j2"), env.get_template(f"link_{side}.j2")
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"platform {end.platform} ({end.hostname}) has no {exc.name} in "
                          f"{platforms.get(end.platform).template_dir}: gin renders no GIN "
                          f"link end for it") from None
    return baseline.render(context), link.render(context)


def render_end(intent: LinkIntent, side: str) -> str:
    """Configuration for one end, baseline included."""
    return "".join(render_parts(intent, side))


def render(intent: LinkIntent) -> dict[str, str]:
    """Both ends' configurations, keyed by host name."""
    return {intent.pe.hostname: render_end(intent, "pe"),
            intent.ce.hostname: render_end(intent, "ce")}
