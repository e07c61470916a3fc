"""Which requests are LLM calls, and which API shape their body has.

Matching is on method, host, port and path (never on the body). A request that matches
nothing is not an LLM call and passes through unread. The table follows the providers'
documented routes; users add their own hosts (a company gateway, a local server on a
custom port) through the config file or ``--endpoint HOST[:PORT][/PATH]=SHAPE``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

ShapeName = Literal[
    "openai-chat",
    "openai-responses",
    "openai-completions",
    "anthropic-messages",
    "gemini",
    "cohere",
    "ollama",
]
SHAPE_NAMES: tuple[str, ...] = (
    "openai-chat",
    "openai-responses",
    "openai-completions",
    "anthropic-messages",
    "gemini",
    "cohere",
    "ollama",
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    provider: str  # "openai", "anthropic", "gemini", "azure", "openrouter", "local", "custom", ...
    shape: str  # a SHAPE_NAMES entry
    counts_tokens: bool = False  # a token-count route: same rewrite as its generation route
    model: str | None = None  # the model named in the path (Gemini, Vertex, Azure deployments)


@dataclass(frozen=True, slots=True)
class _Route:
    provider: str
    host: re.Pattern[str]
    path: re.Pattern[str]
    shape: str
    counts_tokens: bool = False
    ports: tuple[int, ...] = (443,)


def _r(
    provider: str, host: str, path: str, shape: str, counts: bool = False, ports: tuple[int, ...] = (443,)
) -> _Route:
    return _Route(provider, re.compile(host, re.I), re.compile(path), shape, counts, ports)


_V1 = r"(?:/v1)?"
# OpenAI-compatible suffixes shared by many hosts, as (path regex under a base, shape, counts_tokens).
_COMPAT: tuple[tuple[str, str, bool], ...] = (
    (r"/chat/completions", "openai-chat", False),
    (r"/responses", "openai-responses", False),
    (r"/responses/input_tokens", "openai-responses", True),
    (r"/completions", "openai-completions", False),
    (r"/messages", "anthropic-messages", False),
    (r"/messages/count_tokens", "anthropic-messages", True),
)


def _compat(provider: str, host: str, base: str, ports: tuple[int, ...] = (443,)) -> list[_Route]:
    return [
        _r(provider, host, rf"^{base}{suffix}$", shape, counts, ports) for suffix, shape, counts in _COMPAT
    ]


_GEMINI_MODEL = (
    r"(?:tunedModels|models)/(?P<model>[^/:]+):(?P<verb>generateContent|streamGenerateContent|countTokens)"
)
_VERTEX = r"^/v1(?:beta1)?/projects/[^/]+/locations/[^/]+"
_AZURE_HOSTS = r"^[a-z0-9-]+\.(?:openai\.azure\.com|cognitiveservices\.azure\.com|services\.ai\.azure\.com)$"
_VERTEX_HOSTS = (
    r"^(?:[a-z0-9-]+-aiplatform\.googleapis\.com|aiplatform\.googleapis\.com"
    r"|aiplatform\.(?:us|eu)\.rep\.googleapis\.com)$"
)
_LOCAL_HOSTS = r"^(?:localhost|127\.0\.0\.1|::1|\[::1\])$"

ROUTES: tuple[_Route, ...] = (
    # OpenAI
    _r("openai", r"^api\.openai\.com$", r"^/v1/chat/completions$", "openai-chat"),
    _r("openai", r"^api\.openai\.com$", r"^/v1/responses$", "openai-responses"),
    _r("openai", r"^api\.openai\.com$", r"^/v1/responses/input_tokens$", "openai-responses", True),
    _r("openai", r"^api\.openai\.com$", r"^/v1/completions$", "openai-completions"),
    _r("openai", r"^chatgpt\.com$", r"^/backend-api/codex/responses$", "openai-responses"),
    # Azure OpenAI / Foundry
    _r("azure", _AZURE_HOSTS, r"^/openai/deployments/(?P<model>[^/]+)/chat/completions$", "openai-chat"),
    _r("azure", _AZURE_HOSTS, r"^/openai/deployments/(?P<model>[^/]+)/completions$", "openai-completions"),
    _r("azure", _AZURE_HOSTS, r"^/openai(?:/v1)?/responses$", "openai-responses"),
    _r("azure", _AZURE_HOSTS, r"^/openai/v1/chat/completions$", "openai-chat"),
    _r("azure", _AZURE_HOSTS, r"^/models/chat/completions$", "openai-chat"),
    _r("azure", _AZURE_HOSTS, r"^/anthropic/v1/messages$", "anthropic-messages"),
    # Anthropic
    _r("anthropic", r"^api\.anthropic\.com$", r"^/v1/messages$", "anthropic-messages"),
    _r("anthropic", r"^api\.anthropic\.com$", r"^/v1/messages/count_tokens$", "anthropic-messages", True),
    # Gemini API and Vertex
    _r(
        "gemini", r"^generativelanguage\.googleapis\.com$", rf"^/v1(?:beta|alpha)?/{_GEMINI_MODEL}$", "gemini"
    ),
    _r(
        "gemini",
        r"^generativelanguage\.googleapis\.com$",
        r"^/v1beta/openai/chat/completions$",
        "openai-chat",
    ),
    _r("vertex", _VERTEX_HOSTS, rf"{_VERTEX}/publishers/google/{_GEMINI_MODEL}$", "gemini"),
    _r(
        "vertex",
        _VERTEX_HOSTS,
        rf"{_VERTEX}/publishers/anthropic/models/(?P<model>[^/:]+):(?:rawPredict|streamRawPredict)$",
        "anthropic-messages",
    ),
    _r(
        "vertex",
        _VERTEX_HOSTS,
        rf"{_VERTEX}/publishers/anthropic/models/count-tokens:rawPredict$",
        "anthropic-messages",
        True,
    ),
    _r("vertex", _VERTEX_HOSTS, rf"{_VERTEX}/endpoints/openapi/chat/completions$", "openai-chat"),
    # Cohere
    _r("cohere", r"^api\.cohere\.(?:com|ai)$", r"^/v2/chat$", "cohere"),
    # OpenAI-compatible hosts
    *_compat("openrouter", r"^openrouter\.ai$", "/api/v1"),
    *_compat("groq", r"^api\.groq\.com$", "/openai/v1"),
    *_compat("together", r"^api\.together\.(?:xyz|ai)$", "/v1"),
    *_compat("mistral", r"^(?:api|codestral)\.mistral\.ai$", "/v1"),
    *_compat("deepseek", r"^api\.deepseek\.com$", _V1),
    *_compat("deepseek", r"^api\.deepseek\.com$", "/anthropic/v1"),
    *_compat("xai", r"^api\.x\.ai$", "/v1"),
    *_compat("fireworks", r"^api\.fireworks\.ai$", "/inference/v1"),
    *_compat("perplexity", r"^api\.perplexity\.ai$", _V1),
    *_compat("cerebras", r"^api\.cerebras\.ai$", "/v1"),
    *_compat("sambanova", r"^api\.sambanova\.ai$", "/v1"),
    *_compat("moonshot", r"^api\.moonshot\.(?:ai|cn)$", "/v1"),
    *_compat("moonshot", r"^api\.moonshot\.(?:ai|cn)$", "/anthropic/v1"),
    *_compat("dashscope", r"^dashscope(?:-intl)?\.aliyuncs\.com$", "/compatible-mode/v1"),
    # Local servers: Ollama, vLLM, llama.cpp, LM Studio
    _r("local", _LOCAL_HOSTS, r"^/api/chat$", "ollama", ports=(11434,)),
    *_compat("local", _LOCAL_HOSTS, "/v1", ports=(11434, 8000, 8080, 1234)),
)

# Hosts whose traffic is decrypted by default (the --allow-hosts list), as regexes on host:port.
DEFAULT_INTERCEPT: tuple[str, ...] = (
    r"api\.openai\.com:443",
    r"chatgpt\.com:443",
    r"[a-z0-9-]+\.openai\.azure\.com:443",
    r"[a-z0-9-]+\.cognitiveservices\.azure\.com:443",
    r"[a-z0-9-]+\.services\.ai\.azure\.com:443",
    r"api\.anthropic\.com:443",
    r"generativelanguage\.googleapis\.com:443",
    r"(?:[a-z0-9-]+-)?aiplatform(?:\.us|\.eu)?(?:\.rep)?\.googleapis\.com:443",
    r"api\.cohere\.(?:com|ai):443",
    r"openrouter\.ai:443",
    r"api\.groq\.com:443",
    r"api\.together\.(?:xyz|ai):443",
    r"(?:api|codestral)\.mistral\.ai:443",
    r"api\.deepseek\.com:443",
    r"api\.x\.ai:443",
    r"api\.fireworks\.ai:443",
    r"api\.perplexity\.ai:443",
    r"api\.cerebras\.ai:443",
    r"api\.sambanova\.ai:443",
    r"api\.moonshot\.(?:ai|cn):443",
    r"dashscope(?:-intl)?\.aliyuncs\.com:443",
    r"(?:localhost|127\.0\.0\.1):(?:11434|8000|8080|1234)",
)

# Paths that are never prompts, even on a user-declared endpoint.
_NEVER = re.compile(
    r"/(?:embeddings?|embed|moderations|rerank|audio|images|files|uploads|batches|fine_tuning|vector_stores|"
    r"assistants|threads|realtime|compact)(?:/|$)|:embedContent|:batchEmbedContents|cachedContents"
)


@dataclass(frozen=True, slots=True)
class CustomEndpoint:
    """A user's own endpoint: every POST under `path_prefix` on host[:port] has this shape."""

    host: str
    port: int | None
    path_prefix: str
    shape: str

    @classmethod
    def parse(cls, spec: str) -> CustomEndpoint:
        """``HOST[:PORT][/PATH]=SHAPE``; ValueError naming what is wrong."""
        target, sep, shape = spec.partition("=")
        shape = shape.strip()
        if not sep or not target.strip():
            raise ValueError(f"endpoint {spec!r}: expected HOST[:PORT][/PATH]=SHAPE")
        if shape not in SHAPE_NAMES:
            raise ValueError(f"endpoint {spec!r}: unknown shape {shape!r}; known: {', '.join(SHAPE_NAMES)}")
        target = target.strip()
        if "://" in target:
            target = target.split("://", 1)[1]
        hostport, slash, path = target.partition("/")
        host, colon, port_text = hostport.rpartition(":") if hostport.count(":") == 1 else (hostport, "", "")
        port = None
        if colon:
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise ValueError(f"endpoint {spec!r}: bad port {port_text!r}")
            port = int(port_text)
        if not host:
            raise ValueError(f"endpoint {spec!r}: missing host")
        return cls(host.lower(), port, "/" + path if slash else "/", shape)

    def matches(self, host: str, port: int, path: str) -> bool:
        return (
            host == self.host
            and (self.port is None or port == self.port)
            and path.startswith(self.path_prefix)
        )

    def intercept_pattern(self) -> str:
        port = str(self.port) if self.port is not None else r"\d+"
        return f"{re.escape(self.host)}:{port}"


def match(
    method: str,
    host: str,
    port: int,
    path: str,
    custom: Iterable[CustomEndpoint] = (),
) -> Endpoint | None:
    """The endpoint a request goes to, or None when it is not a rewritable LLM call.

    `path` may include a query string; it is ignored for matching.
    """
    if method.upper() != "POST":
        return None
    host = host.lower().rstrip(".")
    bare_path = path.split("?", 1)[0]
    if _NEVER.search(bare_path):
        return None
    for c in custom:
        if c.matches(host, port, bare_path):
            return Endpoint(
                "custom", c.shape, bare_path.endswith(("/count_tokens", ":countTokens", "/input_tokens"))
            )
    for route in ROUTES:
        if port not in route.ports or not route.host.search(host):
            continue
        m = route.path.search(bare_path)
        if m is None:
            continue
        groups = m.groupdict()
        counts = route.counts_tokens or groups.get("verb") == "countTokens"
        return Endpoint(route.provider, route.shape, counts, groups.get("model"))
    return None


def match_url(url: str, method: str = "POST", custom: Iterable[CustomEndpoint] = ()) -> Endpoint | None:
    """`match` for a full URL (used offline by `wiretrim compress` and `wiretrim replay`)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return match(method, parts.hostname, port, path, custom)


# Headers whose presence means the body is bound by a signature or digest (§3.4): never rewrite.
_BINDING_HEADERS = (
    "x-amz-content-sha256",
    "content-md5",
    "digest",
    "content-digest",
    "repr-digest",
    "signature-input",
    "signature",
)


def integrity_binding(headers: Mapping[str, str], query: str = "") -> str | None:
    """The name of the header or parameter that binds the body, or None when it may be rewritten."""
    lower = {k.lower(): v for k, v in headers.items()}
    if lower.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
        return "sigv4"
    for name in _BINDING_HEADERS:
        if name in lower:
            return name
    if any(k.startswith("x-amz-checksum-") or k == "x-amz-sdk-checksum-algorithm" for k in lower):
        return "x-amz-checksum"
    if "x-amz-signature=" in query.lower() or "x-amz-credential=" in query.lower():
        return "sigv4-presigned"
    return None


def intercept_patterns(custom: Iterable[CustomEndpoint] = (), extra_hosts: Iterable[str] = ()) -> list[str]:
    """Anchored ``host:port`` regexes for mitmproxy's --allow-hosts: the table plus the user's hosts."""
    pats = list(DEFAULT_INTERCEPT) + [c.intercept_pattern() for c in custom] + list(extra_hosts)
    return [f"^{p}$" for p in pats]
