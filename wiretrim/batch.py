"""Offline use of the engine: one body from a file or stdin, or the JSON-lines batch protocol.

The batch protocol is the one ``../shared/bench/score.py`` and ``replay_cost.py`` speak:
one ``{"id", "url", "body"}`` object per input line, one ``{"id", "body", "ms"}`` per output
line, in order. A bad line never stops the batch: it is answered with the body it carried
(or skipped with a note on stderr when it has no id).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

from wiretrim.compression import Engine, RewriteResult
from wiretrim.endpoints import CustomEndpoint, match_url


def compress_body(
    engine: Engine, body: Any, url: str, custom: Iterable[CustomEndpoint] = ()
) -> tuple[Any, RewriteResult | None]:
    """The rewritten body (same type as given: object, str or bytes) and the engine's result.

    Bodies that are not JSON objects, or whose URL is not a rewritable endpoint, come back as given.
    """
    endpoint = match_url(url, custom=custom) if url else None
    if endpoint is None:
        return body, None
    if isinstance(body, dict):
        result = engine.rewrite(body, endpoint.shape)
        return (json.loads(result.body) if result.body is not None else body), result
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if not isinstance(raw, bytes):
        return body, None
    result = engine.rewrite(raw, endpoint.shape)
    if result.body is None:
        return body, result
    return (result.body.decode("utf-8") if isinstance(body, str) else result.body), result


def run_jsonl(
    engine: Engine, lines: Iterable[str], out: IO[str], custom: Iterable[CustomEndpoint] = ()
) -> int:
    """Answer every request line; returns the number of lines that could not be processed."""
    failures = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or "id" not in request:
                raise ValueError("not an object with an id")
        except ValueError as e:
            print(f"wiretrim: input line {n} skipped: {e}", file=sys.stderr)
            failures += 1
            continue
        body = request.get("body")
        t0 = time.perf_counter()
        try:
            new_body, _ = compress_body(engine, body, str(request.get("url") or ""), custom)
        except Exception as e:  # the batch answers every line; the original body is the fail-open answer
            print(
                f"wiretrim: {request['id']}: forwarded unchanged ({type(e).__name__}: {e})", file=sys.stderr
            )
            new_body = body
            failures += 1
        ms = (time.perf_counter() - t0) * 1000
        out.write(
            json.dumps({"id": request["id"], "body": new_body, "ms": round(ms, 3)}, ensure_ascii=False) + "\n"
        )
        out.flush()
    return failures
