"""One request body in, the rewritten body and its accounting out.

parse -> shape (request facts, slots) -> per slot: protection, memo, repeat reference or
content transforms, guards, gain gate -> splice into the original bytes -> validate.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wiretrim.compression import jsonspan, marker, memo, query, splice
from wiretrim.compression.history import History, source_label
from wiretrim.compression.memo import Memo
from wiretrim.compression.results import RewriteResult, SlotOutcome
from wiretrim.compression.shapes import SHAPES, RequestInfo, Slot
from wiretrim.compression.shapes import get as get_shape
from wiretrim.compression.textengine import TextEngine
from wiretrim.compression.tokens import TokenCounter, estimate
from wiretrim.compression.transforms import TRANSFORMS, Level, TransformParams, by_name

# The estimate puts a rewrite's saved share within about two points of the real one
# (tokens.estimate): at this share a rewrite decided on the estimate surely saves tokens.
ESTIMATE_SURE_RATIO = 0.1
# Chat-template and special-token text: a slot holding any is left whole (G17).
_SPECIAL_TOKENS = re.compile(r"<\|[A-Za-z0-9_]{1,40}\|>|\[/?INST\]|</?think>|\n\nHuman:|\n\nAssistant:")
_SPECIAL_CUES = ("<|", "INST]", "think>", "\n\nHuman:", "\n\nAssistant:")


@dataclass(frozen=True, slots=True)
class EngineSettings:
    level: Level = "balanced"
    compress_system: bool = False  # system / developer / instructions text is protected unless on
    min_slot_tokens: int = 200  # smaller slots are not worth a rewrite
    min_saved_tokens: int = 64  # a rewrite must save at least this many tokens ...
    min_saved_ratio: float = 0.05  # ... and at least this share of the slot
    lossy_above_tokens: int = 1500  # the size budget above which lines or items may be dropped
    reference_repeats: bool = True  # a slot repeating an earlier one becomes a reference to it
    transforms: tuple[str, ...] | None = None  # None: all registered transforms
    exact_gate_below_chars: int = 8192  # below this, the gain gate counts every token


class Engine:
    """Rewrites request bodies. Thread-safe if its counter and memo are."""

    def __init__(
        self,
        settings: EngineSettings | None = None,
        counter: TokenCounter | None = None,
        memo_store: Memo | None = None,
    ) -> None:
        self.settings = settings or EngineSettings()
        if counter is None:
            from wiretrim.compression.tokens import TiktokenCounter

            counter = TiktokenCounter()
        self.counter = counter
        self.memo = memo_store
        chosen = (
            TRANSFORMS
            if self.settings.transforms is None
            else tuple(by_name(n) for n in self.settings.transforms)
        )
        self.text_engine = TextEngine(chosen)

    def supports(self, shape: str) -> bool:
        """True when `shape` names an API shape this engine can rewrite."""
        return shape in SHAPES

    def record_original(self, keys: Iterable[bytes]) -> None:
        """Record that the slots with these memo keys went upstream unchanged.

        For shadow mode (its results are computed with ``record=False``) and for a rewrite
        the proxy computed but did not forward (time budget, circuit breaker): later requests
        then forward those slots unchanged too, so the history a provider cached stays
        stable. Overwrites earlier entries: the memo holds what was forwarded last.
        """
        if self.memo is None:
            return
        for k in keys:
            self.memo.put(k, memo.ORIGINAL)

    def rewrite(self, body: bytes | Mapping[str, Any], shape: str, *, record: bool = True) -> RewriteResult:
        """Rewrite `body` (bytes, or a parsed object) for the API `shape`.

        `record=False` computes without reading or writing the first-emission memo (shadow
        mode's "what would be saved"). Raises ValueError for an unknown shape; a body that
        cannot be rewritten comes back with `body=None` and a `skipped` reason.
        """
        shape_impl = get_shape(shape)
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            doc = jsonspan.parse(raw)
        except jsonspan.BodyError as e:
            return RewriteResult(body=None, skipped=e.reason)
        info = shape_impl.inspect(doc.value)
        if info.skip:
            return RewriteResult(body=None, skipped=info.skip, model=info.model, stream=info.stream)

        outcomes: list[SlotOutcome] = []
        seen: dict[bytes, Slot] = {}
        terms_cache: dict[str, frozenset[str]] = {}
        history = History()
        for slot in shape_impl.slots(doc.value):
            outcome = self._slot(slot, info, seen, terms_cache, history, record)
            outcomes.append(outcome)
            history.add(source_label(slot), outcome.emitted)
        changed = [o for o in outcomes if o.rewritten]
        if not changed:
            return RewriteResult(body=None, slots=tuple(outcomes), model=info.model, stream=info.stream)

        # Each literal is written in the style of the bytes before it, not of the whole body,
        # so the next request of the conversation (this body plus new turns) writes it alike.
        facts = doc.style_facts()
        spans = doc.spans(o.path for o in changed)
        edits = [splice.Edit(*spans[o.path], facts.at(spans[o.path][1]).encode(o.emitted)) for o in changed]
        new_body = splice.apply(raw, edits)
        json.loads(new_body)  # a body that no longer parses must never leave; the caller fails open
        return RewriteResult(body=new_body, slots=tuple(outcomes), model=info.model, stream=info.stream)

    # -- one slot -------------------------------------------------------------------------

    def _slot(
        self,
        slot: Slot,
        info: RequestInfo,
        seen: dict[bytes, Slot],
        terms_cache: dict[str, frozenset[str]],
        history: History,
        record: bool,
    ) -> SlotOutcome:
        s = self.settings

        def done(reason: str, emitted: str | None = None, transforms: tuple[str, ...] = ()) -> SlotOutcome:
            return SlotOutcome(
                slot.path, slot.kind, slot.role, reason, transforms, slot.text,
                slot.text if emitted is None else emitted,
            )

        if slot.kind == "system" and not s.compress_system:
            return done("protected")
        try:
            encoded = slot.text.encode("utf-8")  # fails exactly on lone surrogates
        except UnicodeEncodeError:
            return done("unencodable")
        if has_special_tokens(slot.text):
            return done("special_tokens")
        # The memo is read before the size gate, and every slot registers as a possible first
        # occurrence, so a slot forwarded rewritten keeps its rewrite (and its memo key) even
        # after min_slot_tokens changed.
        text_hash = hashlib.sha256(encoded).digest()
        first = seen.get(text_hash)
        if first is None:
            seen[text_hash] = slot
        terms = terms_cache.get(slot.query)
        if terms is None:
            terms = terms_cache[slot.query] = query.keep_terms(slot.query)
        # What the rewrite may depend on besides the text: the query's terms, and (for
        # references) the slot it repeats and everything emitted before it.
        refs = f"{_reference_key(first)}\x1f{history.digest()}" if s.reference_repeats else ""
        context = f"{query.digest(terms)}\x1e{refs}"
        key = memo.key(slot.kind, context, encoded)
        if record and self.memo is not None:
            hit = self.memo.get(key)
            if hit is not None:
                if hit == memo.ORIGINAL:
                    return dataclasses.replace(done("memo_original"), memo_key=key)
                # Request-level rules (JSON mode) can differ from the request that stored it.
                guard = _guard(slot.text, hit, info)
                outcome = done(f"guard:{guard}") if guard else done("memo", hit)
                return dataclasses.replace(outcome, memo_key=key)

        est_before = estimate(slot.text)
        if est_before < s.min_slot_tokens:
            return done("too_small")

        outcome = dataclasses.replace(
            self._compress(slot, info, terms, first, history, est_before), memo_key=key
        )
        if record and self.memo is not None:
            self.memo.put(key, outcome.emitted if outcome.rewritten else memo.ORIGINAL)
        return outcome

    def _compress(
        self,
        slot: Slot,
        info: RequestInfo,
        terms: frozenset[str],
        first: Slot | None,
        history: History,
        est_before: int,
    ) -> SlotOutcome:
        s = self.settings
        if first is not None and s.reference_repeats:
            candidate, transforms = _reference(slot, first), ("reference",)
        else:
            params = TransformParams(
                level=s.level,
                lossy_above_tokens=s.lossy_above_tokens,
                keep_terms=terms,
                tool_name=slot.tool_name,
            )
            result = self.text_engine.compress(slot.text, params)
            candidate, transforms = result.text, result.transforms
            if s.reference_repeats:
                referenced = history.replace_repeats(candidate)
                if referenced != candidate:
                    candidate, transforms = referenced, (*transforms, "reference")

        def kept(reason: str) -> SlotOutcome:
            return SlotOutcome(slot.path, slot.kind, slot.role, reason, transforms, slot.text, slot.text)

        if candidate == slot.text:
            return kept("no_change")
        guard = _guard(slot.text, candidate, info)
        if guard:
            return kept(f"guard:{guard}")
        if not self._gains(slot.text, candidate, est_before):
            return kept("no_gain")
        return SlotOutcome(slot.path, slot.kind, slot.role, "compressed", transforms, slot.text, candidate)

    def _gains(self, before: str, after: str, est_before: int) -> bool:
        """True when `after` saves at least the configured tokens and share of `before`.

        Large texts whose estimated saving is far from the thresholds are decided on the
        estimate; the rest on real tokens, counted only on the lines that differ. A rewrite is
        accepted on the estimate only when it saves a share well beyond the estimate's error,
        whatever the thresholds: a gate set near zero must not let a rewrite through that
        costs as many real tokens as the original, or more.
        """
        s = self.settings
        if len(before) <= s.exact_gate_below_chars:
            total = self.counter.count(before)
            saved = total - self.counter.count(after)
        else:
            saved_est = est_before - estimate(after)
            ratio = saved_est / est_before
            sure = max(2 * s.min_saved_ratio, ESTIMATE_SURE_RATIO)
            if ratio >= sure and saved_est >= 2 * s.min_saved_tokens:
                return True
            if ratio < s.min_saved_ratio / 2 or saved_est < s.min_saved_tokens / 2:
                return False
            saved, changed_lines = self._saved_by_lines(before, after)
            # Lines counted apart may tokenize differently where they join their neighbours
            # (about a token a line): a margin that close to the threshold gets a full count.
            if abs(saved - s.min_saved_tokens) <= changed_lines:
                saved = self.counter.count(before) - self.counter.count(after)
            total = est_before
        return saved >= s.min_saved_tokens and saved >= s.min_saved_ratio * total

    def _saved_by_lines(self, before: str, after: str) -> tuple[int, int]:
        """Tokens `after` saves over `before`, counting only the lines that differ (shared lines
        cost nothing to count), and how many lines differ."""
        kept_before = Counter(before.split("\n"))
        kept_after = Counter(after.split("\n"))
        removed = _surplus(kept_before, kept_after)
        added = _surplus(kept_after, kept_before)
        saved = self.counter.count("\n".join(removed)) - self.counter.count("\n".join(added))
        return saved, len(removed) + len(added)


def _surplus(a: Counter[str], b: Counter[str]) -> list[str]:
    """The lines `a` holds more often than `b`, as `(a - b).elements()` lists them (only faster)."""
    out: list[str] = []
    get = b.get
    for line, n in a.items():
        extra = n - get(line, 0)
        if extra > 0:
            out.extend([line] * extra)
    return out


def _guard(original: str, candidate: str, info: RequestInfo) -> str | None:
    """The name of the first provider rule the candidate would break, or None."""
    if not candidate.strip():
        return "empty"
    if candidate[-1:].isspace() and not original[-1:].isspace():
        return "trailing_whitespace"
    if info.json_mode and "json" in original.lower() and "json" not in candidate.lower():
        return "json_keyword"
    if has_special_tokens(candidate):
        return "special_tokens"
    return None


def has_special_tokens(text: str) -> bool:
    """True when `text` holds chat-template or special-token text (a cheap check first)."""
    if not any(cue in text for cue in _SPECIAL_CUES):
        return False
    return _SPECIAL_TOKENS.search(text) is not None


def _reference_key(first: Slot | None) -> str:
    return "" if first is None else f"{first.kind}@{first.turn}:{first.path!r}"


def _reference(slot: Slot, first: Slot) -> str:
    lines = slot.text.count("\n") + 1
    return marker.omitted(lines, "lines", f"same as {source_label(first)}")
