"""Knows every module that defines tables, so migrations and tests see the whole schema.

The core cannot import services (layers point down), so the list names modules by string.
"""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "auterity_desktop.core.orm",
    "auterity_desktop.services.security.models",
    "auterity_desktop.services.compliance.models",
    "auterity_desktop.services.workflows.models",
    "auterity_desktop.services.integrations.models",
    "auterity_desktop.services.messaging.models",
    "auterity_desktop.services.monitoring.metrics_models",
    "auterity_desktop.services.monitoring.alert_models",
    "auterity_desktop.services.monitoring.ml_tables",
    "auterity_desktop.services.ai.models",
    "auterity_desktop.services.ai.cognitive.models",
    "auterity_desktop.services.gateway.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
