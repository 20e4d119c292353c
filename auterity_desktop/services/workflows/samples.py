"""The sample workflows shipped in ``resources/workflows`` (dealership operations), for the
first-run experience, the user guide and anyone who wants a working starting point."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_files() -> list[Path]:
    folder = resources.files("auterity_desktop.resources").joinpath("workflows")
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".json"))


def sample_file(name: str) -> Path:
    """The sample called ``name`` (file stem, e.g. ``lead_follow_up``)."""
    for path in sample_files():
        if path.stem == name:
            return path
    raise KeyError(name)
