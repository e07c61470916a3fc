"""The compression engine: request bodies in, rewritten bodies and their accounting out.

It knows nothing of HTTP or mitmproxy: callers pass the decoded body bytes (or a parsed
object) and the name of the API shape.
"""

from __future__ import annotations

from wiretrim.compression.pipeline import Engine, EngineSettings
from wiretrim.compression.results import Accounting, RewriteResult, SlotOutcome, measure

__all__ = ["Accounting", "Engine", "EngineSettings", "RewriteResult", "SlotOutcome", "measure"]
