"""Where each API reports token usage, and what its numbers mean.

Every API family puts its counts somewhere else and means something slightly different by
them: OpenAI's ``prompt_tokens`` include the cached ones, Anthropic's ``input_tokens`` exclude
cache reads and writes, Gemini adds thinking tokens to the output. A `Reporter` per request
shape picks the raw counts out of one parsed JSON document (a whole response, one SSE event or
one NDJSON line) and turns the merged counts into one `Usage` with a single meaning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Raw = dict[str, int]  # provider field names (dotted for nested ones) -> counts
# A usage object, not `"usage": null` (which every OpenAI stream chunk carries).
_USAGE = re.compile(rb'"usage"\s*:\s*\{')


@dataclass(frozen=True, slots=True)
class Usage:
    """Billed token counts of one response; None where the provider reported nothing.

    `input_tokens` is the whole prompt, cached parts included: `cache_read_tokens` of it were
    served from the provider's prompt cache and `cache_write_tokens` were written to it.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    model: str | None = None  # the model the response names, when it names one

    @property
    def uncached_input_tokens(self) -> int | None:
        """The prompt tokens billed at the plain input price."""
        if self.input_tokens is None:
            return None
        return max(0, self.input_tokens - (self.cache_read_tokens or 0) - (self.cache_write_tokens or 0))

    @property
    def empty(self) -> bool:
        return all(v is None for v in (self.input_tokens, self.output_tokens, self.cache_read_tokens,
                                       self.cache_write_tokens))


class Reporter(Protocol):
    marker: re.Pattern[bytes]  # a document this does not match holds no usage: it is not parsed

    def pick(self, doc: Any) -> Raw: ...  # the counts in one document ({} if none)

    def usage(self, raw: Raw) -> Usage: ...  # the counts merged over a whole response

    def model(self, doc: Any) -> str | None: ...  # the model a document names, if any


def _counts(node: Any, prefix: str = "", out: Raw | None = None) -> Raw:
    """Integer leaves of a usage object, nested keys joined with dots."""
    out = {} if out is None else out
    if isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(value, bool):
                continue
            if isinstance(value, int):
                out[prefix + str(key)] = value
            elif isinstance(value, Mapping):
                _counts(value, f"{prefix}{key}.", out)
    return out


def _at(doc: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _sum(raw: Raw, *keys: str) -> int | None:
    present = [raw[k] for k in keys if k in raw]
    return sum(present) if present else None


class OpenAIChat:
    """Chat Completions and legacy Completions (and the OpenAI-compatible hosts).

    Streams report usage in a last chunk when the client asked for it
    (``stream_options.include_usage``); other chunks carry ``"usage": null``.
    """

    marker = _USAGE

    def pick(self, doc: Any) -> Raw:
        return _counts(_at(doc, "usage"))

    def model(self, doc: Any) -> str | None:
        return _str(_at(doc, "model"))

    def usage(self, raw: Raw) -> Usage:
        read = raw.get("prompt_tokens_details.cached_tokens")
        if read is None:
            read = raw.get("prompt_cache_hit_tokens")  # DeepSeek's own field
        return Usage(
            input_tokens=raw.get("prompt_tokens"),
            output_tokens=raw.get("completion_tokens"),
            cache_read_tokens=read,
            # Gateways in front of Anthropic models (OpenRouter) report cache writes here.
            cache_write_tokens=raw.get("prompt_tokens_details.cache_write_tokens"),
        )


class OpenAIResponses:
    """Responses API: ``usage`` in the JSON response; in a stream, ``response.usage`` of the
    ``response.completed`` (or ``.incomplete`` / ``.failed``) event."""

    marker = _USAGE

    def pick(self, doc: Any) -> Raw:
        return _counts(_at(doc, "usage")) or _counts(_at(doc, "response", "usage"))

    def model(self, doc: Any) -> str | None:
        return _str(_at(doc, "model")) or _str(_at(doc, "response", "model"))

    def usage(self, raw: Raw) -> Usage:
        return Usage(
            input_tokens=raw.get("input_tokens"),
            output_tokens=raw.get("output_tokens"),
            cache_read_tokens=raw.get("input_tokens_details.cached_tokens"),
        )


class AnthropicMessages:
    """Messages API: ``usage`` in the JSON response; in a stream, ``message.usage`` of
    ``message_start`` (the prompt) and ``usage`` of ``message_delta`` (the running output count,
    and on newer API versions final prompt counts too). Later values win."""

    marker = _USAGE

    def pick(self, doc: Any) -> Raw:
        return _counts(_at(doc, "usage")) or _counts(_at(doc, "message", "usage"))

    def model(self, doc: Any) -> str | None:
        return _str(_at(doc, "model")) or _str(_at(doc, "message", "model"))

    def usage(self, raw: Raw) -> Usage:
        read = raw.get("cache_read_input_tokens")
        write = raw.get("cache_creation_input_tokens")
        # input_tokens counts only what came after the last cache breakpoint.
        prompt = _sum(raw, "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
        return Usage(input_tokens=prompt, output_tokens=raw.get("output_tokens"),
                     cache_read_tokens=read, cache_write_tokens=write)


class Gemini:
    """generateContent / streamGenerateContent: ``usageMetadata`` in every response or chunk
    (cumulative in a stream, so the last one wins). ``promptTokenCount`` includes
    ``cachedContentTokenCount``; thinking tokens are billed as output."""

    marker = re.compile(rb'"usageMetadata"\s*:\s*\{')

    def pick(self, doc: Any) -> Raw:
        return _counts(_at(doc, "usageMetadata"))

    def model(self, doc: Any) -> str | None:
        return _str(_at(doc, "modelVersion"))

    def usage(self, raw: Raw) -> Usage:
        return Usage(
            input_tokens=_sum(raw, "promptTokenCount", "toolUsePromptTokenCount"),
            output_tokens=_sum(raw, "candidatesTokenCount", "thoughtsTokenCount"),
            cache_read_tokens=raw.get("cachedContentTokenCount"),
        )


class Cohere:
    """Cohere v2 chat: ``usage`` in the JSON response; ``delta.usage`` of the ``message-end``
    event in a stream. ``billed_units`` is what is charged (``tokens`` adds the prompt template)."""

    marker = _USAGE

    def pick(self, doc: Any) -> Raw:
        return _counts(_at(doc, "usage")) or _counts(_at(doc, "delta", "usage"))

    def model(self, doc: Any) -> str | None:
        return None  # Cohere's responses do not name the model

    def usage(self, raw: Raw) -> Usage:
        billed = "billed_units.input_tokens" in raw or "billed_units.output_tokens" in raw
        unit = "billed_units" if billed else "tokens"
        return Usage(
            input_tokens=raw.get(f"{unit}.input_tokens"),
            output_tokens=raw.get(f"{unit}.output_tokens"),
            cache_read_tokens=raw.get("cached_tokens"),
        )


class Ollama:
    """Ollama's native /api/chat: top-level counts in the response, or in the last NDJSON line
    (``"done": true``) of a stream. A local server: no cache accounting."""

    marker = re.compile(rb'"(?:prompt_)?eval_count"')

    def pick(self, doc: Any) -> Raw:
        if not isinstance(doc, Mapping):
            return {}
        return {k: v for k in ("prompt_eval_count", "eval_count")
                if isinstance(v := doc.get(k), int) and not isinstance(v, bool)}

    def model(self, doc: Any) -> str | None:
        return _str(_at(doc, "model"))

    def usage(self, raw: Raw) -> Usage:
        return Usage(input_tokens=raw.get("prompt_eval_count"), output_tokens=raw.get("eval_count"))


REPORTERS: Mapping[str, Reporter] = {
    "openai-chat": OpenAIChat(),
    "openai-completions": OpenAIChat(),
    "openai-responses": OpenAIResponses(),
    "anthropic-messages": AnthropicMessages(),
    "gemini": Gemini(),
    "cohere": Cohere(),
    "ollama": Ollama(),
}
