"""Colours of the canvas: a hue per node category and per port type (the same in both
themes, so a user learns them once) and the theme's colours for everything else."""

from __future__ import annotations

from collections.abc import Mapping

from auterity_desktop.ui.models.run_display import status_colour

_CATEGORY = {
    "Triggers": "#2da44e",
    "Flow": "#8250df",
    "Data": "#0969da",
    "Network": "#bf8700",
    "Human": "#e16f24",
    "Output": "#57606a",
}
_PORT = {
    "any": "#8c959f",
    "object": "#0969da",
    "list": "#8250df",
    "string": "#1a7f37",
    "number": "#bf8700",
    "boolean": "#cf222e",
}


def category_color(category: str) -> str:
    if category in _CATEGORY:
        return _CATEGORY[category]
    hues = list(_CATEGORY.values())
    return hues[sum(map(ord, category)) % len(hues)] if category else "#8c959f"


def port_color(port_type: str, error: bool = False) -> str:
    return "#cf222e" if error else _PORT.get(port_type, _PORT["any"])


def run_color(status: str, colors: Mapping[str, str]) -> str:
    return status_colour(status, colors)
