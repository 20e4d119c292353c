"""One provider instance per wire format, all on the same httpx client."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from auterity_desktop.services.ai.providers.anthropic import AnthropicProvider
from auterity_desktop.services.ai.providers.base import Provider
from auterity_desktop.services.ai.providers.ollama import OllamaProvider
from auterity_desktop.services.ai.providers.openai import OpenAIProvider
from auterity_desktop.services.ai.types import ProviderKind

PROVIDER_CLASSES: dict[ProviderKind, type[Provider]] = {
    ProviderKind.OPENAI: OpenAIProvider,
    ProviderKind.ANTHROPIC: AnthropicProvider,
    ProviderKind.OLLAMA: OllamaProvider,
}


def build_providers(
    client: httpx.AsyncClient, clock: Callable[[], float] = time.time
) -> dict[ProviderKind, Provider]:
    return {kind: cls(client, clock) for kind, cls in PROVIDER_CLASSES.items()}
