"""Render a link's intended configuration for both routers from the platform templates.

The templates and their filters (``cfg_text`` keeps user text from ever becoming a
config command) come from :mod:`devices.render`.
"""

from __future__ import annotations

import jinja2

from devices import platforms
from devices.errors import ConfigError
from devices.render import environment
from links.intent import LinkIntent


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
