"""Token usage read from LLM API responses, without changing them.

A `UsageReader` is fed the response bytes as they pass (content-encoded, in whatever chunks
the network made) and keeps only what it needs: the events that report usage. It knows the
usage fields of every request shape the engine knows. No mitmproxy here: the addon feeds it.
"""

from __future__ import annotations

from wiretrim.usage.fields import Usage
from wiretrim.usage.reader import UsageReader, read_body

__all__ = ["Usage", "UsageReader", "read_body"]
