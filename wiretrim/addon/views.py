"""The ``wiretrim`` content view: what the addon did to one request, in mitmweb and the console.

It reads only ``flow.metadata["wiretrim"]`` (plain data written by ``report.py``) and the two
bodies: in ``on`` mode the client's original (kept in the metadata) and the request as sent; in
``shadow`` mode the request as sent and what ``on`` would have sent. Each rewritten slot is found
in both bodies by its JSON path, so the metadata needs no copy of the slot texts. A slot is shown
as the sent text with the lines it lost, or, when it was reformatted, as both texts. The
rendering is a pure function (`render`); two thin adapters plug it into mitmproxy 12's
``Contentview`` protocol and into mitmproxy 11's ``View`` class, whose registry refuses a
duplicate name and so needs `unregister`.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from mitmproxy import contentviews, http
from mitmproxy.flow import Flow

from wiretrim.addon.report import KEY

NAME = "wiretrim"
PRIORITY = 2.0  # above the JSON view (1): `auto` shows this view for requests wiretrim rewrote
MAX_LINES = 400  # per diff or text block; mitmweb itself shows the first lines and offers the rest
MAX_REMOVED_SHOWN = 3  # removed lines shown per run; the rest are counted


class NotWiretrimError(ValueError):
    """The message is not a request wiretrim matched: the view has nothing to say about it."""


def render(meta: Mapping[str, Any], body: bytes) -> str:
    """The view's text for a matched request whose current body is `body`."""
    lines = [*_summary(meta), ""]
    slots = meta.get("slots") or []
    if slots:
        lines += [*_table(slots, applied=meta.get("action") == "compressed"), ""]
    before, after, labels = _bodies(meta, body)
    if before is not None and after is not None:
        lines.append(f"body: {len(before):,} → {len(after):,} bytes")
        lines.append("")
        lines += _slot_diffs(slots, _json(before), _json(after), labels)
    return "\n".join(lines).rstrip() + "\n"


def _summary(meta: Mapping[str, Any]) -> Iterator[str]:
    mode, action, reason = meta.get("mode"), meta.get("action"), meta.get("reason")
    model = meta.get("model") or "model unknown"
    what = f"{action}: {reason}" if reason else action
    yield f"wiretrim · {what} · mode {mode} · {meta.get('shape')} · {model}"
    if action == "skipped":
        yield "Nothing was rewritten: the original body went upstream unchanged."
    elif action == "failed":
        yield "Rewriting failed: the original body went upstream unchanged."
    elif action == "unchanged":
        yield "No slot was worth rewriting: the original body went upstream unchanged."
    elif mode == "shadow":
        yield "Shadow mode: the original body went upstream; the diffs show what `on` would have sent."
    else:
        yield "The compressed body went upstream; the diffs show what changed."
    before, after = meta.get("tokens_before"), meta.get("tokens_after")
    if before is not None and after is not None:
        saved = before - after
        pct = f" (−{100 * saved / before:.0f}%)" if before else ""
        yield f"tokens: {before:,} → {after:,}, saved {saved:,}{pct} · {meta.get('ms', 0):.1f} ms"
    elif meta.get("slots"):
        yield "tokens: still being counted"


def _table(slots: Sequence[Mapping[str, Any]], *, applied: bool) -> Iterator[str]:
    """One row per slot; `applied` is False when a rewrite was computed but not used (breaker)."""
    rows = [("slot", "kind", "tokens", "result", "transforms")]
    for s in slots:
        verdict = ("rewritten" if applied else "not applied") if s.get("rewritten") else "kept"
        rows.append((
            path_label(s.get("path") or []),
            str(s.get("kind")),
            _tokens(s.get("tokens_before"), s.get("tokens_after")),
            f"{verdict}: {s.get('reason')}",
            ", ".join(s.get("transforms") or []) or "-",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:  # the last column is not padded
        yield "  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]


def _tokens(before: int | None, after: int | None) -> str:
    if before is None or after is None:
        return "…"
    return f"{before:,}" if before == after else f"{before:,} → {after:,}"


def path_label(path: Sequence[str | int]) -> str:
    """``messages[3].content`` for ``["messages", 3, "content"]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


def _bodies(meta: Mapping[str, Any], body: bytes) -> tuple[bytes | None, bytes | None, tuple[str, str]]:
    """The body before and after the rewrite, and how the diff names them."""
    if meta.get("action") != "compressed":
        return None, None, ("", "")
    if meta.get("mode") == "shadow":
        return body, meta.get("would_send"), ("original (sent upstream)", "would send")
    return meta.get("original"), body, ("client's original", "sent upstream")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _slot_diffs(
    slots: Sequence[Mapping[str, Any]], before: Any, after: Any, labels: tuple[str, str]
) -> Iterator[str]:
    for s in slots:
        if not s.get("rewritten"):
            continue
        path = s.get("path") or []
        transforms = ", ".join(s.get("transforms") or []) or "-"
        tokens = _tokens(s.get("tokens_before"), s.get("tokens_after"))
        yield f"── {path_label(path)} · {s.get('kind')} · {tokens} tokens · {transforms} ──"
        old, new = _at(before, path), _at(after, path)
        if old is None or new is None:
            yield "(this slot's text is not in the bodies any more)"
        else:
            yield from _diff(old, new, labels)
        yield ""


def _at(doc: Any, path: Sequence[str | int]) -> str | None:
    for part in path:
        try:
            doc = doc[part]
        except (KeyError, IndexError, TypeError):
            return None
    return doc if isinstance(doc, str) else None


def _diff(old: str, new: str, labels: tuple[str, str]) -> Iterator[str]:
    """The sent text and what was dropped from it: kept lines ``  ``, added ``+ ``, removed ``- ``
    (the first few of each run). When most sent lines are new, as for a reformatted JSON
    table, the sent text and then the original instead."""
    a, b = old.splitlines(), new.splitlines()
    edits = list(_edits(a, b))
    kept = sum(len(lines) for op, lines in edits if op == " ")
    if 2 * kept < len(b):
        yield from _block(labels[1], b)
        yield from _block(labels[0], a)
        return
    yield f"{labels[1]} vs {labels[0]}: '  ' kept, '- ' removed, '+ ' added"
    out: list[str] = []
    for op, lines in edits:
        shown = lines if op != "-" or len(lines) <= MAX_REMOVED_SHOWN + 1 else lines[:MAX_REMOVED_SHOWN]
        out += [f"{op} {line}" for line in shown]
        if len(shown) < len(lines):
            out.append(f"- [… {len(lines) - len(shown):,} more removed lines …]")
    yield from out[:MAX_LINES]
    if len(out) > MAX_LINES:
        yield f"[… {len(out) - MAX_LINES:,} more lines not shown …]"


def _edits(a: list[str], b: list[str]) -> Iterator[tuple[str, list[str]]]:
    """An edit script from `a` to `b` as runs of (op, lines), in O(n log n).

    Each line of `b` is matched to the nearest unused equal line of `a` after the last match,
    which is exact for what the transforms do (keep lines in order, drop runs, add markers).
    Not always the shortest script (difflib's is, but can take minutes on long logs), yet
    always a true one: `` `` and ``+`` lines spell `b`, `` `` and ``-`` lines spell `a`.
    """
    where: dict[str, list[int]] = {}
    for i, line in enumerate(a):
        where.setdefault(line, []).append(i)
    i, added = 0, []
    for line in b:
        spots = where.get(line, ())
        k = bisect.bisect_left(spots, i)
        if k == len(spots):
            added.append(line)
            continue
        j = spots[k]
        if j > i:
            yield "-", a[i:j]
        if added:  # after the removed lines they stand in for, as diffs show them
            yield "+", added
            added = []
        yield " ", [line]
        i = j + 1
    if i < len(a):
        yield "-", a[i:]
    if added:
        yield "+", added


def _block(label: str, lines: list[str]) -> Iterator[str]:
    yield f"{label} ({len(lines):,} line{'s' if len(lines) != 1 else ''}):"
    for line in lines[:MAX_LINES]:
        yield f"  {line}"
    if len(lines) > MAX_LINES:
        yield f"  [… {len(lines) - MAX_LINES:,} more lines not shown …]"


def _meta_for(f: Flow | None, message: object) -> Mapping[str, Any] | None:
    """The wiretrim metadata when `message` is the request of a flow wiretrim matched."""
    if not isinstance(f, http.HTTPFlow) or message is not f.request:
        return None
    meta = f.metadata.get(KEY)
    return meta if isinstance(meta, Mapping) else None


def _priority(meta: Mapping[str, Any] | None) -> float:
    if meta is None:
        return -1
    return PRIORITY if meta.get("action") == "compressed" else 0


def _prettify(f: Flow | None, message: object, data: bytes) -> str:
    meta = _meta_for(f, message)
    if meta is None:
        raise NotWiretrimError("wiretrim shows requests it matched; this is not one")
    return render(meta, data)


# -- mitmproxy 12: the Contentview protocol; registering the same name again replaces it ------


class WiretrimContentview:
    name = NAME
    syntax_highlight = "none"

    def prettify(self, data: bytes, metadata: Any) -> str:
        return _prettify(metadata.flow, metadata.http_message, data)

    def render_priority(self, data: bytes, metadata: Any) -> float:
        return _priority(_meta_for(metadata.flow, metadata.http_message))


# -- mitmproxy 11: a View that returns (description, lines) -----------------------------------


class LegacyCalls:
    """mitmproxy 11's `View` methods. `register` mixes them with that version's `View` base;
    a class statement here would subclass 12's `View` too, which warns that it is deprecated."""

    name = NAME

    def __call__(self, data: bytes, *, flow: Flow | None = None,
                 http_message: http.Message | None = None, **unknown: Any) -> tuple[str, Iterator[Any]]:
        text = _prettify(flow, http_message, data)
        return NAME, iter([[("text", line)] for line in text.splitlines()])

    def render_priority(self, data: bytes, *, flow: Flow | None = None,
                        http_message: http.Message | None = None, **unknown: Any) -> float:
        return _priority(_meta_for(flow, http_message))


def new_api() -> bool:
    """True from mitmproxy 12 on (the `Contentview` protocol)."""
    return hasattr(contentviews, "Contentview")


def register() -> object:
    """Add the view to mitmproxy's registry (again after a reload); returns what to `unregister`."""
    if new_api():
        current = WiretrimContentview()
        contentviews.add(current)
        return current
    stale = contentviews.get(NAME)  # 11.x: add() refuses a name it has, e.g. a reload missed done()
    if stale is not None:
        contentviews.remove(stale)
    view = type("WiretrimView", (LegacyCalls, contentviews.View), {})()
    contentviews.add(view)
    return view


def unregister(view: object) -> None:
    """11.x: remove the view. 12.x has no public removal; a later `register` replaces it."""
    if not new_api() and view in contentviews.views:
        contentviews.remove(view)
