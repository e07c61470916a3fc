"""What the addon says about each matched request: one log line, flow metadata, a comment.

Nothing here writes prompt text or headers to the log: only provider, model, mode, action,
token counts and time. The flow's metadata holds plain data (it is saved with the flow by
``mitmdump -w``); it carries the original body of a rewritten request for the mitmweb view.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mitmproxy import http

from wiretrim.compression import Accounting, RewriteResult

if TYPE_CHECKING:
    pass

logger = logging.getLogger("wiretrim")

KEY = "wiretrim"  # flow.metadata[KEY]
MARK = ":scissors:"

Action = Literal["compressed", "unchanged", "skipped", "failed"]


@dataclass(slots=True)
class Outcome:
    """What happened to one matched request (in shadow mode: what would have)."""

    provider: str
    shape: str
    mode: str
    host: str
    path: str  # without the query: it may hold an API key (Gemini's ?key=)
    model: str | None = None
    action: Action = "unchanged"
    reason: str | None = None
    ms: float = 0.0
    result: RewriteResult | None = None
    original: bytes | None = None  # the decoded original body, when the rewrite went upstream
    would_send: bytes | None = None  # shadow mode: the body `on` would have sent

    @property
    def label(self) -> str:
        return self.action if self.reason is None else f"{self.action}:{self.reason}"

    @property
    def rewritten(self) -> bool:
        """True when the upstream got a body other than the client's."""
        return self.action == "compressed" and self.mode == "on"

    def needs_accounting(self) -> bool:
        return self.result is not None and bool(self.result.slots)


def record(flow: http.HTTPFlow, outcome: Outcome, acc: Accounting | None = None) -> None:
    """Write the outcome onto the flow: metadata, comment, and a mark when rewritten."""
    flow.metadata[KEY] = metadata(outcome, acc)
    flow.comment = comment(outcome, acc)
    if outcome.rewritten:
        flow.marked = MARK


def log(flow: http.HTTPFlow, outcome: Outcome, acc: Accounting | None = None) -> None:
    level = logging.WARNING if outcome.action == "failed" else logging.INFO
    logger.log(level, log_line(outcome, acc), extra={"client": flow.client_conn.peername})


def metadata(outcome: Outcome, acc: Accounting | None) -> dict[str, Any]:
    r = outcome.result
    counts = {tuple(s.path): (s.before, s.after) for s in acc.slots} if acc is not None else {}
    slots = [
        {
            "path": list(s.path),
            "kind": s.kind,
            "reason": s.reason,
            "transforms": list(s.transforms),
            "rewritten": s.rewritten,
            "tokens_before": counts.get(tuple(s.path), (None, None))[0],
            "tokens_after": counts.get(tuple(s.path), (None, None))[1],
        }
        for s in (r.slots if r is not None else ())
    ]
    data: dict[str, Any] = {
        "provider": outcome.provider,
        "shape": outcome.shape,
        "model": _storable(outcome.model),
        "mode": outcome.mode,
        "action": outcome.action,
        "reason": outcome.reason,
        "host": _storable(outcome.host),
        "path": _storable(outcome.path),
        "ms": round(outcome.ms, 3),
        "rewritten": outcome.rewritten,
        "tokens_before": acc.tokens_before if acc is not None else None,
        "tokens_after": acc.tokens_after if acc is not None else None,
        "slots": slots,
    }
    if outcome.rewritten and outcome.original is not None:
        data["original"] = outcome.original
    if outcome.would_send is not None:
        data["would_send"] = outcome.would_send
    return data


def _storable(value: str | None) -> str | None:
    """`value` without lone surrogates (a client may send ``"model": "\\ud800"``, and mitmproxy
    decodes odd path bytes with surrogateescape): flow files store UTF-8 only, so ``mitmdump -w``
    would fail on the flow otherwise."""
    return None if value is None else value.encode("utf-8", "replace").decode("utf-8")


def comment(outcome: Outcome, acc: Accounting | None) -> str:
    """``wiretrim −12,345 tok (−41%) · 3 slots · 4 ms``, or the skip / failure reason."""
    ms = f"{outcome.ms:.0f} ms"
    if outcome.action == "skipped":
        return f"wiretrim skipped: {outcome.reason}"
    if outcome.action == "failed":
        return f"wiretrim failed: {outcome.reason} · original forwarded"
    r = outcome.result
    if outcome.action == "unchanged":
        n = len(r.slots) if r is not None else 0
        return f"wiretrim unchanged · {n} slot{'s' if n != 1 else ''} · {ms}"
    n = len(r.rewritten_slots) if r is not None else 0
    slots = f"{n} slot{'s' if n != 1 else ''}"
    on = outcome.mode == "on"
    if acc is None:  # counts still pending
        saved = "rewritten" if on else "would rewrite"
    else:
        n_saved, pct = f"{acc.tokens_saved:,}", round(100 * acc.saved_ratio)
        saved = f"−{n_saved} tok (−{pct}%)" if on else f"would save {n_saved} tok ({pct}%)"
    prefix = "wiretrim" if on else f"wiretrim {outcome.mode}:"
    return f"{prefix} {saved} · {slots} · {ms}"


_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/@+>\-]")


def field(value: str | None) -> str:
    """`value` safe for one log line (no separators or control characters), or ``-``."""
    if not value:
        return "-"
    return _UNSAFE.sub("_", value)[:80]


def log_line(outcome: Outcome, acc: Accounting | None) -> str:
    """One ``key=value`` line; never prompt text, headers or the query string."""
    if acc is None:
        before = after = saved = "-"
    else:
        before, after, saved = str(acc.tokens_before), str(acc.tokens_after), str(acc.tokens_saved)
    r = outcome.result
    slots = f" slots={len(r.rewritten_slots)}/{len(r.slots)}" if r is not None and r.slots else ""
    return (
        f"wiretrim provider={field(outcome.provider)} model={field(outcome.model)} mode={outcome.mode} "
        f"action={field(outcome.label)} tokens_before={before} tokens_after={after} tokens_saved={saved} "
        f"ms={outcome.ms:.1f}{slots}"
    )
