"""Request-level rules read from headers: the bypass switch, signed bodies, JSON only."""

from __future__ import annotations

import re

from mitmproxy import http

from wiretrim.endpoints import integrity_binding

# application/json and the +json family, with parameters (charset=...).
_JSON_TYPE = re.compile(r"^application/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)", re.I)


def pop_bypass(request: http.Request, header: str) -> bool:
    """Remove our bypass header (it never goes upstream); True when one said ``off``."""
    values = request.headers.get_all(header)
    if not values:
        return False
    del request.headers[header]
    return any(v.strip().lower() == "off" for v in values)


def skip_reason(request: http.Request) -> str | None:
    """Why the headers forbid a rewrite, or None."""
    query = request.path.partition("?")[2]
    binding = integrity_binding(request.headers, query)
    if binding is not None:
        return f"signed:{binding}"
    if not _JSON_TYPE.match(request.headers.get("content-type", "")):
        return "content_type"
    return None
