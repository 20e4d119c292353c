"""Token estimates made before a call, when no tokenizer for the model is at hand.

Routing needs a number before the provider counts anything: to skip a deployment whose
context window is too small, to rank by cost, to reserve tokens-per-minute capacity and to
hold budget. Four bytes of UTF-8 per token is close for English with the common BPE
vocabularies and errs high for accented and CJK text (three bytes a character, about one
token each), which is the safe side for limits and budgets. After the call the provider's
own counts replace the estimate.
"""

from __future__ import annotations

from collections.abc import Iterable

from auterity_desktop.services.ai.types import ChatMessage

PER_MESSAGE = 4  # role and separators the chat templates add around each message
PER_REQUEST = 3  # the assistant's reply header
DEFAULT_REPLY = 256  # expected reply length when the request sets no max_tokens


def estimate_text(text: str) -> int:
    if text.isascii():
        return (len(text) + 3) // 4
    return (len(text.encode("utf-8")) + 3) // 4


def estimate_messages(messages: Iterable[ChatMessage]) -> int:
    return PER_REQUEST + sum(PER_MESSAGE + estimate_text(m.content) for m in messages)
