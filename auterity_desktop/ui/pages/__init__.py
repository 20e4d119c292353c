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
    permission: str | None = None  # "resource:action" a role needs to see the page


PAGES: tuple[PageSpec, ...] = (
    PageSpec("dashboard", "Dashboard", "dashboard",
             "Live charts of runs, latencies, queues and resources, with alerts.",
             "auterity_desktop.ui.pages.dashboard_page:DashboardPage"),
    PageSpec("alerts", "Alerts", "alerts",
             "Alert rules, what is firing now and what fired before; acknowledge and silence.",
             "auterity_desktop.ui.pages.alerts_page:AlertsPage", "analytics:read"),
    PageSpec("workflows", "Workflows", "workflows",
             "Create, import, validate and run workflows and see how each run went.",
             "auterity_desktop.ui.pages.workflows_page:WorkflowsPage", "workflows:read"),
    PageSpec("runs", "Runs", "runs",
             "History of workflow runs with each node's inputs, outputs and errors.",
             "auterity_desktop.ui.pages.runs_page:RunsPage", "runs:read"),
    PageSpec("integrations", "Integrations", "integrations",
             "Connections to DMS, CRM, databases, e-mail and web APIs; secrets stay in the "
             "system keyring.", "auterity_desktop.ui.pages.integrations_page:IntegrationsPage",
             "integrations:read"),
    PageSpec("messages", "Messages", "messages",
             "Topics, subscriptions and the dead-letter queue of the message queue.",
             "auterity_desktop.ui.pages.messages_page:MessagesPage", "messages:read"),
    PageSpec("ai", "AI", "ai",
             "Model providers and deployments, routing and budgets, a playground, usage and "
             "spend.", "auterity_desktop.ui.pages.ai_page:AIPage", "ai:read"),
    PageSpec("analysis", "Analysis", "analysis",
             "Offline process mining, custom reports and model drift.",
             "auterity_desktop.ui.pages.analysis_page:AnalysisPage", "analytics:read"),
    PageSpec("models", "Models", "models",
             "Monitored models: their metrics over time and drift of each feature.",
             "auterity_desktop.ui.pages.models_page:ModelsPage", "analytics:read"),
    PageSpec("audit", "Audit log", "audit",
             "The tamper-evident record of who did what: filter, inspect, verify, export.",
             "auterity_desktop.ui.pages.audit_page:AuditPage", "audit:read"),
    PageSpec("compliance", "Compliance", "compliance",
             "Policies checked against workflows and settings, violations and reports.",
             "auterity_desktop.ui.pages.compliance_page:CompliancePage", "settings:read"),
    PageSpec("users", "Users & roles", "users",
             "Accounts, roles and what each role may do.",
             "auterity_desktop.ui.pages.users_page:UsersPage", "users:read"),
    PageSpec("settings", "Settings", "settings",
             "Appearance, the effective configuration and where data is kept.",
             "auterity_desktop.ui.pages.settings_page:SettingsPage"),
)  # fmt: skip


def page(key: str) -> PageSpec:
    for spec in PAGES:
        if spec.key == key:
            return spec
    raise KeyError(key)
