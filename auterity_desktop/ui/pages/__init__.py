"""The workspaces of the navigation rail, in order.

A page is declared here and built the first time it is opened (``factory`` is imported only
then), so the window starts without loading charting, pandas or editors it is not showing.
"""

from __future__ import annotations

from dataclasses import dataclass

PLANNED = "auterity_desktop.ui.pages.planned_page:PlannedPage"


@dataclass(frozen=True)
class PageSpec:
    key: str
    title: str
    icon: str
    summary: str
    factory: str = PLANNED


PAGES: tuple[PageSpec, ...] = (
    PageSpec("dashboard", "Dashboard", "dashboard",
             "Live charts of runs, latencies, queues and resources, with alerts."),
    PageSpec("workflows", "Workflows", "workflows",
             "Design workflows in the node-graph editor, validate and run them."),
    PageSpec("runs", "Runs", "runs",
             "History of workflow runs with each node's inputs, outputs and errors."),
    PageSpec("integrations", "Integrations", "integrations",
             "Connections to DMS, CRM, databases, e-mail and web APIs; secrets stay in the "
             "system keyring."),
    PageSpec("messages", "Messages", "messages",
             "Topics, subscriptions and the dead-letter queue of the message queue."),
    PageSpec("analysis", "Analysis", "analysis",
             "Offline process mining, custom reports and model drift."),
    PageSpec("audit", "Audit log", "audit",
             "The tamper-evident record of who did what, and compliance reports."),
    PageSpec("users", "Users & roles", "users",
             "Accounts, roles and what each role may do."),
    PageSpec("settings", "Settings", "settings",
             "Appearance, the effective configuration and where data is kept.",
             "auterity_desktop.ui.pages.settings_page:SettingsPage"),
)  # fmt: skip


def page(key: str) -> PageSpec:
    for spec in PAGES:
        if spec.key == key:
            return spec
    raise KeyError(key)
