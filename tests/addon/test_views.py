from __future__ import annotations

import abc
import json
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mitmproxy import contentviews, flowfilter, http

from tests.addon.bodies import EAGER, OPENAI_URL, encode, openai_tool_chat, small_chat
from tests.addon.conftest import Harness, api_flow
from wiretrim.addon import report, views

Make = Callable[..., Harness]


def show(flow: http.HTTPFlow, view: str = "auto", message: http.Message | None = None) -> Any:
    """What mitmweb and the console show: mitmproxy's own prettify, through its registry."""
    return contentviews.prettify_message(message or flow.request, flow, view_name=view)


def slot_text(body: bytes, path: list[Any]) -> str:
    doc = json.loads(body)
    for part in path:
        doc = doc[part]
    return str(doc)


def meta(**fields: Any) -> dict[str, Any]:
    """Metadata as report.py writes it, for one rewritten tool result."""
    slot = {"path": ["messages", 0, "content"], "kind": "tool_result", "reason": "compressed",
            "transforms": ["logs"], "rewritten": True, "tokens_before": 500, "tokens_after": 80}
    base = {"provider": "openai", "shape": "openai-chat", "model": "gpt-4o", "mode": "on",
            "action": "compressed", "reason": None, "host": "api.openai.com", "path": "/v1/chat/completions",
            "ms": 3.2, "rewritten": True, "tokens_before": 500, "tokens_after": 80, "slots": [slot]}
    return {**base, **fields}


def chat(text: str) -> bytes:
    return encode({"model": "gpt-4o", "messages": [{"role": "tool", "content": text}]})


LINES = [f"line {i}" for i in range(50)]
MARKER = "[… 35 similar lines omitted (lines 11–45) …]"
ORIGINAL = chat("\n".join(LINES))
SENT = chat("\n".join([*LINES[:10], MARKER, *LINES[45:]]))


# -- through mitmproxy's registry, for flows the addon handled ------------------------------


async def test_auto_shows_a_rewritten_request_with_each_slot_and_the_sent_text(harness: Harness) -> None:
    flow = await harness.send(OPENAI_URL, openai_tool_chat())
    shown = show(flow)
    assert shown.view_name == "wiretrim"
    data = flow.metadata[report.KEY]
    assert shown.text.startswith("wiretrim · compressed · mode on · openai-chat · gpt-4o-mini\n")
    assert f"tokens: {data['tokens_before']:,} → {data['tokens_after']:,}" in shown.text
    for s in data["slots"]:
        label = views.path_label(s["path"]) + " "
        row = next(line for line in shown.text.splitlines() if line.startswith(label))
        assert s["kind"] in row and f"{s['tokens_before']:,}" in row and s["reason"] in row
    (rewritten,) = [s for s in data["slots"] if s["rewritten"]]
    sent = slot_text(flow.request.content or b"", rewritten["path"])
    original = slot_text(data["original"], rewritten["path"])
    assert f"sent upstream ({len(sent.splitlines())} lines):" in shown.text
    assert all(f"  {line}" in shown.text for line in sent.splitlines())
    assert all(f"  {line}" in shown.text for line in original.splitlines())


async def test_shadow_shows_what_would_have_been_sent(make_harness: Make) -> None:
    h = make_harness(EAGER, mode="shadow")
    flow = await h.send(OPENAI_URL, openai_tool_chat())
    shown = show(flow)
    assert shown.view_name == "wiretrim"
    assert "Shadow mode: the original body went upstream" in shown.text
    would_send = slot_text(flow.metadata[report.KEY]["would_send"], ["messages", 3, "content"])
    assert f"would send ({len(would_send.splitlines())} lines):" in shown.text
    assert all(f"  {line}" in shown.text for line in would_send.splitlines())


async def test_skips_and_unchanged_requests_keep_the_json_view_in_auto(harness: Harness) -> None:
    skipped = await harness.send(OPENAI_URL, openai_tool_chat(), headers={"x-wiretrim": "off"})
    assert show(skipped).view_name != "wiretrim"
    text = show(skipped, "wiretrim").text
    assert text.startswith("wiretrim · skipped: bypass · mode on")
    assert "Nothing was rewritten: the original body went upstream unchanged." in text
    unchanged = await harness.send(OPENAI_URL, small_chat())
    assert show(unchanged).view_name != "wiretrim"
    text = show(unchanged, "wiretrim").text
    assert "No slot was worth rewriting" in text and "kept: too_small" in text


async def test_responses_and_unmatched_flows_are_not_for_this_view(harness: Harness) -> None:
    flow = await harness.send(OPENAI_URL, openai_tool_chat())
    flow.response = http.Response.make(200, b'{"ok": true}', {"content-type": "application/json"})
    other = api_flow("https://example.com/upload", b"{}")
    view = contentviews.registry["wiretrim"]
    for f, message in ((flow, flow.response), (other, other.request)):
        assert view.render_priority(message.content or b"", contentviews.make_metadata(message, f)) < 0
        assert show(f, message=message).view_name != "wiretrim"
        assert show(f, "wiretrim", message).text.startswith("Couldn't parse as wiretrim:")


async def test_the_readme_filters_find_rewrites_and_skips(harness: Harness) -> None:
    rewritten = await harness.send(OPENAI_URL, openai_tool_chat())
    unchanged = await harness.send(OPENAI_URL, small_chat())
    skipped = await harness.send(OPENAI_URL, openai_tool_chat(), headers={"x-wiretrim": "off"})
    flows = [rewritten, unchanged, skipped]
    assert [flowfilter.match("~marked", f) for f in flows] == [True, False, False]
    assert [flowfilter.match("~comment skipped", f) for f in flows] == [False, False, True]


def test_the_addon_registers_the_view_on_load(make_harness: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(contentviews.registry._by_name, "wiretrim", raising=False)
    assert "wiretrim" not in contentviews.registry
    make_harness(EAGER)
    assert isinstance(contentviews.registry["wiretrim"], views.WiretrimContentview)


# -- the rendering ------------------------------------------------------------------------


def test_dropped_lines_show_as_a_diff_of_the_sent_text() -> None:
    text = views.render(meta(original=ORIGINAL), SENT)
    assert text.splitlines()[-22:] == [
        "── messages[0].content · tool_result · 500 → 80 tokens · logs ──",
        "sent upstream vs client's original: '  ' kept, '- ' removed, '+ ' added",
        *[f"  line {i}" for i in range(10)],
        "- line 10", "- line 11", "- line 12", "- [… 32 more removed lines …]",
        f"+ {MARKER}",
        *[f"  line {i}" for i in range(45, 50)],
    ]


def test_shadow_diffs_the_sent_original_with_what_would_be_sent() -> None:
    text = views.render(meta(mode="shadow", rewritten=False, would_send=SENT), ORIGINAL)
    assert "sent upstream vs" not in text
    assert "would send vs original (sent upstream): '  ' kept, '- ' removed, '+ ' added" in text
    assert f"+ {MARKER}" in text and "- line 10" in text


def test_a_rewrite_the_breaker_held_back_is_not_applied() -> None:
    text = views.render(meta(action="skipped", reason="breaker", rewritten=False), ORIGINAL)
    assert "wiretrim · skipped: breaker" in text
    assert "not applied: compressed" in text and "sent upstream" not in text


def test_counts_still_pending_and_missing_slot_text_are_said_so() -> None:
    m = meta(original=ORIGINAL, tokens_before=None, tokens_after=None)
    m["slots"][0].update(tokens_before=None, tokens_after=None)
    text = views.render(m, b'{"messages": []}')  # e.g. another addon replaced the body
    assert "tokens: still being counted" in text
    assert "── messages[0].content · tool_result · … tokens · logs ──" in text
    assert "(this slot's text is not in the bodies any more)" in text


def test_long_output_is_cut_and_says_how_much() -> None:
    old = "\n".join(f"row {i}" for i in range(2000))
    new = "\n".join(f"r{i}" for i in range(1000))
    text = views.render(meta(original=chat(old)), chat(new))
    assert "sent upstream (1,000 lines):" in text and "[… 600 more lines not shown …]" in text
    assert "client's original (2,000 lines):" in text and "[… 1,600 more lines not shown …]" in text


def test_a_long_slot_that_keeps_every_other_line_renders_fast() -> None:
    # difflib took minutes on this shape (20,000 lines, every second one kept).
    old = [f"2025-01-01 worker-{i % 7} item {i} ok" for i in range(20_000)]
    started = time.perf_counter()
    text = views.render(meta(original=chat("\n".join(old))), chat("\n".join(old[::2])))
    assert time.perf_counter() - started < 5
    assert "  2025-01-01 worker-0 item 0 ok" in text and "- 2025-01-01 worker-1 item 1 ok" in text


@pytest.mark.parametrize(("path", "label"), [
    (["messages", 3, "content"], "messages[3].content"),
    (["contents", 0, "parts", 1, "text"], "contents[0].parts[1].text"),
    ([], "(body)"),
])
def test_path_label(path: list[Any], label: str) -> None:
    assert views.path_label(path) == label


@given(st.lists(st.sampled_from("abcd"), max_size=30), st.lists(st.sampled_from("abcde"), max_size=30))
def test_edits_spell_both_sides(a: list[str], b: list[str]) -> None:
    edits = list(views._edits(a, b))
    assert [line for op, lines in edits if op != "-" for line in lines] == b
    assert [line for op, lines in edits if op != "+" for line in lines] == a


# -- mitmproxy 11's View API, against a stub of it -------------------------------------------


class OldView(abc.ABC):
    """mitmproxy 11.0's `contentviews.View`, reduced to what matters here."""

    name: str

    @abc.abstractmethod
    def __call__(self, data: bytes, **metadata: Any) -> Any: ...

    def __lt__(self, other: OldView) -> bool:
        return self.name < other.name


def old_api() -> SimpleNamespace:
    """mitmproxy 11.0's module-level registry: a list; add() refuses a duplicate name."""
    registry: list[Any] = []

    def add(view: Any) -> None:
        if any(v.name == view.name for v in registry):
            raise ValueError("Duplicate view: " + view.name)
        registry.append(view)

    def get(name: str) -> Any:
        return next((v for v in registry if v.name.lower() == name.lower()), None)

    return SimpleNamespace(View=OldView, views=registry, add=add, get=get, remove=registry.remove)


async def test_the_11_adapter_registers_once_and_renders_the_same_text(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = await harness.send(OPENAI_URL, openai_tool_chat())
    data = flow.request.content or b""
    old = old_api()
    monkeypatch.setattr(views, "contentviews", old)
    views.register()
    view = views.register()  # a reload whose done() never ran: replaced, not "Duplicate view"
    assert old.views == [view] and isinstance(view, OldView) and view.name == "wiretrim"
    description, lines = view(data, content_type="application/json", flow=flow, http_message=flow.request)
    assert description == "wiretrim"
    assert "\n".join("".join(text for _, text in line) for line in lines) + "\n" == views.render(
        flow.metadata[report.KEY], data)
    assert view.render_priority(data, flow=flow, http_message=flow.request, extra=1) == views.PRIORITY
    assert view.render_priority(b"", flow=flow, http_message=flow.response) < 0
    views.unregister(view)
    assert old.views == []


async def test_mitmproxy_12_runs_the_11_adapter_through_its_shim(harness: Harness) -> None:
    """12.x still accepts an old-style View: the adapter's call signature is what mitmproxy passes."""
    flow = await harness.send(OPENAI_URL, openai_tool_chat())
    data = flow.request.content or b""
    legacy = contentviews.LegacyContentview(type("WiretrimView", (views.LegacyCalls,), {})())  # type: ignore[arg-type]
    metadata = contentviews.make_metadata(flow.request, flow)
    assert legacy.prettify(data, metadata) + "\n" == views.render(flow.metadata[report.KEY], data)
    assert legacy.render_priority(data, metadata) == views.PRIORITY
