"""Which responses pass through as they arrive instead of being buffered by mitmproxy.

mitmproxy buffers a whole response by default, so an SSE stream would reach the client in
one burst at the end. Streaming forwards each chunk unchanged; it is set for every flow the
addon sees (in every mode), because buffering is never what a client of an LLM API wants.
"""

from __future__ import annotations

from mitmproxy import http

from wiretrim.usage.reader import media_type

STREAM_TYPES = frozenset({
    "text/event-stream",  # SSE: OpenAI, Anthropic, Gemini ?alt=sse, Cohere, ...
    "application/x-ndjson",  # Ollama
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
    "application/vnd.amazon.eventstream",  # Bedrock
})
# Streaming verbs whose JSON response is a growing array (Gemini without alt=sse, Vertex).
_STREAM_VERBS = (":streamGenerateContent", ":streamRawPredict")


def wanted(flow: http.HTTPFlow) -> bool:
    """True when the response should stream: a stream type, a streaming verb, or no length."""
    response = flow.response
    if response is None or response.stream or response.status_code == 101:
        return False  # 101: a WebSocket upgrade has no body to stream
    if media_type(response.headers.get("content-type")) in STREAM_TYPES:
        return True
    if any(verb in flow.request.path.partition("?")[0] for verb in _STREAM_VERBS):
        return True
    # Chunked or connection-delimited (and HTTP/2 without a length): its end is unknown.
    return "content-length" not in response.headers
