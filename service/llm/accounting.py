"""Token accounting with tiktoken and a price table from settings."""

from __future__ import annotations

from service.llm.base import Message, Usage
from service.llm.tokens import count_tokens

MESSAGE_OVERHEAD = 4  # tokens per chat message envelope, as in OpenAI's counting guide


def prompt_tokens(messages: list[Message]) -> int:
    return sum(count_tokens(m.content) + MESSAGE_OVERHEAD for m in messages) + 2


def usage_for(model: str, messages: list[Message], completion: str,
              prices: dict[str, tuple[float, float]]) -> Usage:
    p, c = prompt_tokens(messages), count_tokens(completion)
    price_in, price_out = prices.get(model, (0.0, 0.0))
    return Usage(prompt_tokens=p, completion_tokens=c, calls=1,
                 cost_usd=(p * price_in + c * price_out) / 1_000_000)
