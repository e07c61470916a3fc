"""Prometheus metrics of the proxy's work, served on 127.0.0.1 (off unless a port is set).

Fed one ledger entry per matched request, so the metrics and the ledger always agree. Labels
are closed sets (provider, mode, action, reason); never a model name from a client, a host or
anything from a prompt.
"""

from __future__ import annotations

import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from wiretrim.ledger import Entry

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Counters and a histogram in a registry of their own, and the HTTP server that shows them.

    `port` 0 picks a free port; `port` then tells which. Raises OSError when it cannot listen.
    """

    def __init__(self, port: int, host: str = HOST) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter("wiretrim_requests", "Matched LLM requests, by what wiretrim did with them.",
                                ["provider", "mode", "action"], registry=r)
        self.skips = Counter("wiretrim_skipped_requests", "Requests left unchanged, by reason.",
                             ["provider", "reason"], registry=r)
        tokens = ["provider", "mode"]
        self.tokens_before = Counter("wiretrim_tokens_before", "Prompt-text tokens before rewriting.",
                                     tokens, registry=r)
        self.tokens_after = Counter("wiretrim_tokens_after", "Prompt-text tokens after rewriting "
                                    "(in shadow mode: what would have been sent).", tokens, registry=r)
        self.tokens_saved = Counter("wiretrim_tokens_saved", "Prompt tokens removed (shadow: would be).",
                                    tokens, registry=r)
        self.input_tokens = Counter("wiretrim_usage_input_tokens", "Prompt tokens the provider billed, "
                                    "cached ones included.", ["provider"], registry=r)
        self.output_tokens = Counter("wiretrim_usage_output_tokens", "Output tokens the provider billed.",
                                     ["provider"], registry=r)
        self.cache_read = Counter("wiretrim_cache_read_tokens",
                                  "Prompt tokens served from the provider's cache.", ["provider"], registry=r)
        self.cache_write = Counter("wiretrim_cache_write_tokens",
                                   "Prompt tokens written to the provider's cache.", ["provider"], registry=r)
        self.saved_usd = Counter("wiretrim_saved_dollars", "Dollars saved (tokens saved at the input price).",
                                 tokens, registry=r)
        self.compression = Histogram("wiretrim_compression_seconds",
                                     "Time to decide and rewrite one request.", ["provider", "mode"],
                                     buckets=_SECONDS, registry=r)
        self._server: WSGIServer
        self._server, _ = start_http_server(port, addr=host, registry=r)
        self.port: int = self._server.server_address[1]
        logger.info("wiretrim: Prometheus metrics on http://%s:%d/metrics", host, self.port)

    def observe(self, e: Entry) -> None:
        self.requests.labels(e.provider, e.mode, e.action).inc()
        if e.action in ("skipped", "failed") and e.reason:
            self.skips.labels(e.provider, e.reason).inc()
        if e.action != "skipped":
            self.compression.labels(e.provider, e.mode).observe(e.compress_ms / 1000)
        if e.tokens_before is not None and e.tokens_after is not None:
            self.tokens_before.labels(e.provider, e.mode).inc(e.tokens_before)
            self.tokens_after.labels(e.provider, e.mode).inc(e.tokens_after)
            self.tokens_saved.labels(e.provider, e.mode).inc(max(0, e.tokens_before - e.tokens_after))
        usage = ((self.input_tokens, e.input_tokens), (self.output_tokens, e.output_tokens),
                 (self.cache_read, e.cache_read_tokens), (self.cache_write, e.cache_write_tokens))
        for counter, value in usage:
            if value:
                counter.labels(e.provider).inc(value)
        if e.saved_usd:
            self.saved_usd.labels(e.provider, e.mode).inc(e.saved_usd)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
