"""What callers send is checked into a ModelRequest before anything is routed."""

from __future__ import annotations

from typing import Any

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.inputs import to_request
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from auterity_desktop.services.ai.types import Capability, ChatMessage, ModelRequest


def test_a_prompt_with_a_system_text() -> None:
    request = to_request(
        {"prompt": "Book a test drive", "system": "You are a BDC agent", "max_tokens": 200,
         "workflow_id": "wf-1", "capabilities": ["json"]}
    )  # fmt: skip
    assert request.messages == [
        ChatMessage("system", "You are a BDC agent"),
        ChatMessage("user", "Book a test drive"),
    ]
    assert (request.max_tokens, request.workflow_id, request.purpose) == (200, "wf-1", "chat")
    assert request.capabilities == frozenset({Capability.JSON}) and request.cache


def test_messages_as_dicts_or_objects() -> None:
    request = to_request(
        {"messages": [{"role": "user", "content": "hi"}, ChatMessage("assistant", "hello")]}
    )
    assert [m.role for m in request.messages] == ["user", "assistant"]
    same = ModelRequest([ChatMessage("user", "hi")], temperature=0)
    assert to_request(same).temperature == 0.0


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ({"prompt": ""}, "prompt", "prompt must be a non-empty text"),
        ({}, "messages", "needs messages or a prompt"),
        ({"messages": []}, "messages", "non-empty list"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages", "role 'robot'"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages", "needs text content"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages", "at least one user"),
        ({"messages": [{"role": "user", "content": "x", "name": "n"}]}, "messages", "unknown keys"),
        ({"prompt": "x", "messages": []}, "messages", "not both"),
        ({"prompt": "x", "temperature": 3}, "temperature", "between 0 and 2"),
        ({"prompt": "x", "temperature": "hot"}, "temperature", "must be a number"),
        ({"prompt": "x", "max_tokens": 0}, "max_tokens", "whole number from 1"),
        ({"prompt": "x", "max_tokens": True}, "max_tokens", "whole number from 1"),
        ({"prompt": "x", "timeout": 0}, "timeout", "above 0"),
        ({"prompt": "x", "capabilities": ["telepathy"]}, "capabilities", "unknown capabilities"),
        ({"prompt": "x", "capabilities": "json"}, "capabilities", "must be a list"),
        ({"prompt": "x", "json_schema": {"type": "blob"}}, "json_schema", "not a valid JSON"),
        ({"prompt": "x", "json_schema": "object"}, "json_schema", "JSON schema object"),
        ({"prompt": "x", "cache": "yes"}, "cache", "true or false"),
        ({"prompt": "x", "policy": ""}, "policy", "non-empty text"),
        ({"prompt": "x", "stream": True}, "stream", "unknown request fields: stream"),
        (["x"], "request", "must be an object"),
    ],
)  # fmt: skip
def test_bad_requests_name_the_field(value: Any, field: str, words: str) -> None:
    with pytest.raises(ServiceError) as info:
        to_request(value)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert info.value.details["field"] == field
    assert words in info.value.message


async def test_the_service_checks_before_routing(ai: AIModelOrchestrationService) -> None:
    with pytest.raises(ServiceError) as info:
        await ai.route_request({"prompt": "x", "temperature": 9})
    assert info.value.details["field"] == "temperature"
    with pytest.raises(ServiceError) as again:
        async for _ in ai.stream_request({"messages": "hi"}):
            pass
    assert again.value.details["field"] == "messages"
