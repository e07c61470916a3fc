"""OpenAI legacy completions (`/v1/completions`, Azure, vLLM, llama.cpp, LM Studio, Ollama).

Slots: `prompt` when it is a string, or each string of a string array. Whole requests are
skipped when the prompt is made of token ids (they index a tokenizer, not text), when
`echo` is on (the response echoes and scores the prompt the caller sent), when `suffix`
is set (fill-in-the-middle: prompt and suffix are two halves of one text), and when `n`
or `best_of` asks for more than one completion (providers.md §1.3, §5.2 O5).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from wiretrim.compression.shapes._api import RequestInfo, Slot, count_over_one


class OpenAICompletions:
    name: ClassVar[str] = "openai-completions"

    def inspect(self, doc: dict[str, Any]) -> RequestInfo:
        skip = None
        prompt = doc.get("prompt")
        if doc.get("echo") is True:
            skip = "echo"
        elif doc.get("suffix") is not None:
            skip = "suffix"
        elif count_over_one(doc.get("n")):
            skip = "n>1"
        elif count_over_one(doc.get("best_of")):
            skip = "best_of>1"
        elif isinstance(prompt, list) and not all(isinstance(p, str) for p in prompt):
            skip = "token_prompt"
        elif not isinstance(prompt, str | list):
            skip = "no_text_prompt"
        elif isinstance(prompt, list) and len(set(prompt)) != len(prompt):
            # The prompts of an array are separate requests: a repeat must not become a
            # reference to another prompt the model never sees alongside it.
            skip = "repeated_prompts"
        fmt = doc.get("response_format")  # vLLM and others accept it here too
        json_mode = isinstance(fmt, dict) and fmt.get("type") == "json_object"
        model = doc.get("model") if isinstance(doc.get("model"), str) else None
        return RequestInfo(skip=skip, json_mode=json_mode, model=model, stream=doc.get("stream") is True)

    def slots(self, doc: dict[str, Any]) -> Iterator[Slot]:
        prompt = doc.get("prompt")
        if isinstance(prompt, str):
            yield Slot(("prompt",), prompt, "user_text", "user", 0)
        elif isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
            # Each string is a separate prompt (one completion each), not a conversation.
            for i, text in enumerate(prompt):
                yield Slot(("prompt", i), text, "user_text", "user", i)


OPENAI_COMPLETIONS = OpenAICompletions()
