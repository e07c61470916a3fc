"""Fake provider replies that report usage, in each API's own shape, streamed or not.

Used by the ledger tests and by ``scripts/savings_demo.py``. The counts are whatever the
caller passes: a test plants known numbers, the demo computes them from the request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.e2e.upstream import Received, Reply, sse


@dataclass(frozen=True)
class Counts:
    prompt: int  # the whole prompt, cached tokens included
    output: int
    cache_read: int = 0
    cache_write: int = 0


def _json(body: dict[str, Any]) -> Reply:
    return Reply(headers=[("content-type", "application/json")], body=json.dumps(body).encode())


def _stream(events: list[tuple[str | None, Any]], tail: list[bytes] | None = None) -> Reply:
    return Reply(headers=[("content-type", "text/event-stream")], events=[*sse(events), *(tail or [])])


def openai_chat(model: str, c: Counts, stream: bool) -> Reply:
    usage = {"prompt_tokens": c.prompt, "completion_tokens": c.output, "total_tokens": c.prompt + c.output,
             "prompt_tokens_details": {"cached_tokens": c.cache_read, "audio_tokens": 0}}
    if not stream:
        return _json({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                      "choices": [{"index": 0, "finish_reason": "stop",
                                   "message": {"role": "assistant", "content": "Done."}}], "usage": usage})
    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model}
    return _stream([
        (None, {**chunk, "choices": [{"index": 0, "delta": {"content": "Done."}, "finish_reason": None}],
                "usage": None}),
        (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": None}),
        (None, {**chunk, "choices": [], "usage": usage}),
    ], [b"data: [DONE]\n\n"])


def openai_responses(model: str, c: Counts, stream: bool) -> Reply:
    usage = {"input_tokens": c.prompt, "input_tokens_details": {"cached_tokens": c.cache_read},
             "output_tokens": c.output, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": c.prompt + c.output}
    response = {"id": "resp_1", "object": "response", "status": "completed", "model": model,
                "output": [{"type": "message", "role": "assistant",
                            "content": [{"type": "output_text", "text": "Done."}]}], "usage": usage}
    if not stream:
        return _json(response)
    return _stream([
        ("response.created", {"type": "response.created", "response": {**response, "status": "in_progress",
                                                                        "output": [], "usage": None}}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "Done."}),
        ("response.completed", {"type": "response.completed", "response": response}),
    ])


def anthropic(model: str, c: Counts, stream: bool) -> Reply:
    fresh = c.prompt - c.cache_read - c.cache_write
    usage = {"input_tokens": fresh, "cache_creation_input_tokens": c.cache_write,
             "cache_read_input_tokens": c.cache_read, "output_tokens": c.output}
    if not stream:
        return _json({"id": "msg_1", "type": "message", "role": "assistant", "model": model,
                      "content": [{"type": "text", "text": "Done."}], "stop_reason": "end_turn",
                      "stop_sequence": None, "usage": usage})
    return _stream([
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": model,
            "stop_reason": None, "stop_sequence": None, "usage": {**usage, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Done."}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": c.output}}),
        ("message_stop", {"type": "message_stop"}),
    ])


def gemini(model: str, c: Counts, stream: bool, sse_framing: bool = True) -> Reply:
    def chunk(text: str, output: int) -> dict[str, Any]:
        meta = {"promptTokenCount": c.prompt, "candidatesTokenCount": output,
                "totalTokenCount": c.prompt + output}
        if c.cache_read:
            meta["cachedContentTokenCount"] = c.cache_read
        return {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}],
                "usageMetadata": meta, "modelVersion": model}

    if not stream:
        return _json(chunk("Done.", c.output))
    parts = [chunk("Do", 1), chunk("ne.", c.output)]
    if sse_framing:
        return _stream([(None, p) for p in parts])
    # streamGenerateContent without alt=sse: one JSON array, an element per chunk.
    first, second = (json.dumps(p, indent=2).encode() for p in parts)
    pieces = [b"[" + first, b"\r\n,\r\n" + second, b"\r\n]"]
    return Reply(headers=[("content-type", "application/json; charset=UTF-8")], events=pieces)


def reply_for(req: Received, counts: Counts) -> Reply:
    """The reply of the API `req` was sent to, in the framing it asked for."""
    path, _, query = req.path.partition("?")
    doc = req.json()
    if path.endswith("/chat/completions"):
        return openai_chat(doc.get("model", "?"), counts, bool(doc.get("stream")))
    if path.endswith("/responses"):
        return openai_responses(doc.get("model", "?"), counts, bool(doc.get("stream")))
    if path.endswith("/messages"):
        return anthropic(doc.get("model", "?"), counts, bool(doc.get("stream")))
    if ":generateContent" in path or ":streamGenerateContent" in path:
        model = path.rpartition("/")[2].partition(":")[0]
        return gemini(model, counts, ":streamGenerateContent" in path, "alt=sse" in query)
    return Reply(404, [("content-type", "application/json")], b'{"error": "unknown route"}')
