"""What a page gets when it is built: settings, theme, platform bridge and task runner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auterity_desktop.config import Settings
from auterity_desktop.ui.platform_bridge import PlatformBridge
from auterity_desktop.ui.session import SessionController
from auterity_desktop.ui.tasks import TaskRunner
from auterity_desktop.ui.theme import ThemeManager


@dataclass(frozen=True)
class PageContext:
    settings: Settings
    sources: Mapping[str, str]
    theme: ThemeManager
    bridge: PlatformBridge
    tasks: TaskRunner
    session: SessionController
