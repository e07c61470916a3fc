"""Raw HTML pages (a fetched web page as a tool result) reduced to their readable text and links.

What a reader sees is kept whole: the title, headings, paragraphs, list items, table rows,
``<pre>`` blocks verbatim, link text with its href (``[text](href)``) and image alt text.
Scripts, styles, comments, head metadata, hidden elements, SVG and every attribute except
``href``/``alt`` go. Entities are decoded and whitespace collapses the way a browser
collapses it, so ``foo <b>bar</b> baz`` reads ``foo bar baz``.

The tokenizer is a small regex scanner rather than :class:`html.parser.HTMLParser`: on a
95 KB page the stdlib parser's tokenizing alone (handlers doing nothing) takes about 10 ms,
this whole conversion about 7.5 ms, and both read anything that is not a tag as text.
Source files that merely contain HTML (templates, JSX, numbered file reads, results of
file-reading tools) are left alone, and a page with almost no visible text (rendered by
scripts) is kept as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from typing import ClassVar

from wiretrim.compression import marker
from wiretrim.compression.transforms._api import TransformParams

HEADER = marker.note("HTML page reduced to its text and links; markup, scripts and styles removed")

# `<!--`, a start or end tag, or a bogus construct (doctype, processing instruction, `</ >`).
_TOKEN = re.compile(r"<(?:(/?)([a-zA-Z][^\s/>]*)([^>]*)>|!--|[!?/][^>]*>)")
_EQ_QUOTE = re.compile(r"=\s*([\"'])")
_ATTR = re.compile(r"""([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_SPACES = re.compile(r"[ \t\n\r\f\xa0]+")
_MULTI_SPACE = re.compile(r"  +")
_HIDDEN_HINT = re.compile(r"hidden|none", re.I)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)

VOID = frozenset(
    (
        "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
        "keygen", "link", "meta", "param", "source", "track", "wbr",
    )
)
# Content is raw text up to the matching end tag; nothing inside is markup.
RAW_TEXT = frozenset(
    ("script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "plaintext")
)
# Subtrees that render nothing a reader sees as text.
SKIPPED = frozenset(("svg", "template", "canvas", "video", "audio", "object", "map"))
BLOCK = frozenset(
    (
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
        "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li",
        "listing", "main", "menu", "nav", "noscript", "ol", "optgroup", "option", "p", "pre", "section",
        "select", "datalist", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    )
)
LISTS = frozenset(("ul", "ol", "menu", "dir"))
PRE = frozenset(("pre", "listing", "xmp", "plaintext"))
# Elements whose start and end change the output; other inline elements are not tracked.
TRACKED = BLOCK | PRE | SKIPPED | {"a"}
VOID_HANDLED = frozenset(("img", "br", "base", "link", "meta"))
HEADINGS = {f"h{i}": i for i in range(1, 7)}
SELECTS = frozenset(("select", "datalist"))
# Block elements whose only effect is to end the current line.
PLAIN_BLOCK = (
    BLOCK - LISTS - PRE - SELECTS - HEADINGS.keys()
    - {"li", "blockquote", "table", "tr", "td", "th"}
)
# An opening tag of one of these closes an open <p> (HTML's "close a p element").
CLOSES_P = BLOCK - {"td", "th", "tr", "tbody", "thead", "tfoot", "caption", "option", "optgroup", "noscript"}
# Table-related elements an end tag never searches past, and the scopes of implied closes.
TABLE_SCOPE = frozenset(("td", "th", "table", "caption"))
TABLE_PARTS = frozenset(("td", "th", "tr", "tbody", "thead", "tfoot", "caption"))
IMPLIED_CLOSE: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # opening tag -> (open elements it closes, elements that stop the search)
    "li": (frozenset(("li",)), LISTS | TABLE_SCOPE),
    "dt": (frozenset(("dt", "dd")), frozenset(("dl",)) | TABLE_SCOPE),
    "dd": (frozenset(("dt", "dd")), frozenset(("dl",)) | TABLE_SCOPE),
    "td": (frozenset(("td", "th")), frozenset(("tr", "table"))),
    "th": (frozenset(("td", "th")), frozenset(("tr", "table"))),
    "tr": (frozenset(("tr",)), frozenset(("table",))),
    "tbody": (frozenset(("thead", "tbody", "tfoot")), frozenset(("table",))),
    "thead": (frozenset(("thead", "tbody", "tfoot")), frozenset(("table",))),
    "tfoot": (frozenset(("thead", "tbody", "tfoot")), frozenset(("table",))),
    "option": (frozenset(("option",)), frozenset(("select", "datalist", "optgroup"))),
}
_SINGLE: dict[str, frozenset[str]] = {}  # one-name sets for end tags, built once per name
P_ONLY = frozenset(("p",))
A_ONLY = frozenset(("a",))
TABLE_ONLY = frozenset(("table",))
P_SCOPE = frozenset(("table", "td", "th", "caption", "html", "body", "button", "template", "object"))

# A data table's cell longer than this, or with more lines, makes the table a layout table.
MAX_CELL_CHARS = 300
MAX_CELL_LINES = 4
# Below this much visible body text the page is probably rendered by scripts: keep the source.
MIN_BODY_CHARS = 200

_DOC_START = re.compile(r"(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.I | re.S)
# A page after a preamble: an HTTP status line and headers, or a tool's one-line note.
_LATE_DOC = re.compile(r"^[ \t]*<(?:!doctype\s+html|html[\s>])", re.I | re.M)
MAX_PREAMBLE_LINES = 40
_HTTP_HEAD = re.compile(r"HTTP/[\d.]+ \d{3}\b|[A-Za-z0-9-]+:\s")
_FIRST_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)")
_HTML_TAG = re.compile(
    r"</?(?:div|p|span|a|ul|ol|li|table|tr|td|th|h[1-6]|br|img|section|article|nav|header|footer|main|body"
    r"|form|input|button|label|strong|em|code|pre|blockquote|dl|dt|dd)[\s>/]",
    re.I,
)
FRAGMENT_START = frozenset(
    (
        "head", "body", "div", "p", "section", "article", "main", "header", "nav", "footer", "aside",
        "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "span", "a", "form", "meta", "link",
        "title", "style",
    )
)
_SCRIPT_BLOCK = re.compile(r"<script\b.*?(?:</script\s*>|\Z)", re.I | re.S)
_NUMBERED = re.compile(r"^\s*\d+(?:\t|→|:)")
# Tools that read or edit files: their HTML is source the agent edits, not a page it reads.
_FILE_TOOL = re.compile(r"read|view|open|edit|cat\b|file|str_replace|write", re.I)
_WEB_TOOL = re.compile(r"url|web|fetch|http|browse|page|crawl|scrape|search", re.I)


def _looks_templated(text: str) -> bool:
    """Jinja/Django/Handlebars/ERB/PHP/JSX source: markup that is code, not a fetched page."""
    body = _SCRIPT_BLOCK.sub("", text) if "<script" in text.lower() else text
    return (
        body.count("{%") >= 2
        or body.count("{{") >= 3
        or "<?php" in body
        or body.count("<%") >= 2
        or body.count("className=") >= 2
        or body.count("{/*") >= 1
    )


class Html:
    name: ClassVar[str] = "html"
    max_score: ClassVar[float] = 0.95  # the highest score detect() returns

    def detect(self, text: str) -> float:
        head = text[:4096].lstrip("\ufeff \t\r\n")
        if not head.startswith("<"):
            return 0.0 if _preamble_end(text) < 0 or _looks_templated(text) else 0.9
        if _DOC_START.match(head):
            score = 0.95
        else:
            first = _FIRST_TAG.match(head)
            if first is None or first.group(1).lower() not in FRAGMENT_START:
                return 0.0
            sample = text[:20000]
            tags = len(_HTML_TAG.findall(sample))
            markup = sum(len(m) for m in re.findall(r"<[^>]{0,400}>", sample))
            if tags < 20 or markup < 0.3 * len(sample):
                return 0.0
            score = 0.8
        return 0.0 if _looks_templated(text) else score

    def apply(self, text: str, params: TransformParams) -> str:
        tool = params.tool_name or ""
        if _FILE_TOOL.search(tool) and not _WEB_TOOL.search(tool):
            return text
        if _NUMBERED.match(text):
            return text
        cut = 0 if text.lstrip("\ufeff \t\r\n").startswith("<") else max(0, _preamble_end(text))
        doc = text[cut:]
        page = _Converter(drop_hidden=True).run(doc)
        if page.unclosed_skip:
            # A hidden or skipped element never closed: a browser would hide the rest of
            # the page, but a broken page is likelier, so show everything instead.
            page = _Converter(drop_hidden=False).run(doc)
        if page.text_chars < MIN_BODY_CHARS:
            return text
        out = page.render()
        if cut:
            out = text[:cut].rstrip() + "\n" + out  # the status line and headers, as they were
        if len(out) >= len(text) or _loses_kept_term(text, out, params):
            return text
        return out


def _preamble_end(text: str) -> int:
    """Where a page starts after a few lines of plain text (``curl -i`` headers), or -1."""
    m = _LATE_DOC.search(text, 0, 4096)
    if m is None:
        return -1
    lines = [line for line in text[: m.start()].splitlines() if line.strip()]
    if not lines or len(lines) > MAX_PREAMBLE_LINES or any("<" in line for line in lines):
        return -1
    if len(lines) == 1 and len(lines[0]) <= 200:
        return m.start()  # a tool's note: "Fetched https://example.org (200 OK):"
    return m.start() if all(_HTTP_HEAD.match(line) for line in lines) else -1


def _loses_kept_term(text: str, out: str, params: TransformParams) -> bool:
    """True when a word the user asked about occurs in the page source but not in the text."""
    if not params.keep_terms:
        return False
    low_in, low_out = text.lower(), out.lower()
    return any(term in low_in and term not in low_out for term in params.keep_terms)


@dataclass(slots=True)
class _List:
    ordered: bool
    count: int = 0
    bullet: str | None = None  # the marker the item's first line still has to show
    in_item: bool = False


@dataclass(slots=True)
class _Table:
    rows: list[list[list[str]]] = field(default_factory=list)  # row -> cell -> lines
    row: list[list[str]] | None = None
    in_cell: bool = False


@dataclass(slots=True)
class _Link:
    href: str | None
    buf: list[str]  # the buffer the link's text goes to, and where in it the text starts
    start: int
    generation: int
    target: list[str]  # the output lines when it opened, their number, and whether a line was pending
    target_len: int
    had_text: bool


@dataclass(slots=True)
class _Page:
    title: str | None
    url: str | None
    lines: list[str]
    text_chars: int
    unclosed_skip: bool

    def render(self) -> str:
        head = [HEADER]
        if self.title:
            head.append(f"Title: {self.title}")
        if self.url:
            head.append(f"URL: {self.url}")
        return "\n".join([*head, "", *self.lines])


class _Converter:
    """One pass over one page; not reusable."""

    def __init__(self, drop_hidden: bool) -> None:
        self.drop_hidden = drop_hidden
        self.stack: list[str] = []
        self.skip_depth = 0  # stack length at which the current skipped subtree began; 0: none
        self.targets: list[list[str]] = [[]]  # output lines; a table cell or a select pushes its own
        # Quote and list depth when each target was pushed: a cell's lines carry only the
        # prefixes opened inside it, and the rendered rows get the ones around the table.
        self.bases: list[tuple[int, int]] = [(0, 0)]
        self.inline: list[str] = []
        self.generation = 0  # bumped by every flush, so a link knows whether its line moved on
        self.pre_depth = 0
        self.pre_buf: list[str] = []
        self.pre_end_at: tuple[int, int] | None = None  # (target id, length) right after a pre block
        self.heading = 0
        self.quote = 0
        self.lists: list[_List] = []
        self.tables: list[_Table] = []
        self.link: _Link | None = None
        self.last_prefix_len: int | None = None  # prefix length of the last line `_put` wrote
        self.select_depth = 0
        self.title: str | None = None
        self.base: str | None = None
        self.canonical: str | None = None
        self.og_url: str | None = None
        self.text_chars = 0

    # -- tokenizer -------------------------------------------------------------------

    def run(self, text: str) -> _Page:
        low: str | None = None
        pos, n = 0, len(text)
        inline = self.inline
        for m in _TOKEN.finditer(text):
            start = m.start()
            if start < pos:
                continue  # inside a comment, raw text or a tag extended past a quoted ">"
            if start > pos:
                data = text[pos:start]
                if not data.isspace() or self.pre_depth:
                    self._data(data)
                    inline = self.inline
                elif inline and inline[-1] != " " and not self.skip_depth:
                    inline.append(" ")  # the common case, inlined: whitespace between tags
            closing, name, attrs = m.groups()
            if name is None:
                if m.group(0) == "<!--":
                    end = text.find("-->", m.end())
                    pos = n if end < 0 else end + 3
                else:
                    pos = m.end()
                continue
            pos = m.end()
            if (attrs.count('"') & 1 or attrs.count("'") & 1) and "=" in attrs:
                attrs, pos = _balance_quotes(text, m.start(3), attrs, pos)
            name = name.lower()
            if closing:
                if name in TRACKED or self.skip_depth:
                    self._end_tag(name)
                elif name == "br":
                    self._open("br", "")
                inline = self.inline
                continue
            self._start_tag(name, attrs, attrs.endswith("/"))
            inline = self.inline
            if name in RAW_TEXT:
                if low is None:
                    low = text.lower()
                close = low.find("</" + name, pos)
                raw = text[pos:] if close < 0 else text[pos:close]
                pos = n if close < 0 else close
                self._raw_text(name, raw)
                if close < 0:
                    self._end_tag(name)
                inline = self.inline
        if pos < n:
            self._data(text[pos:])
        return self._finish()

    # -- structure -------------------------------------------------------------------

    def _start_tag(self, name: str, attrs: str, self_closing: bool) -> None:
        tracked = name in TRACKED
        if tracked:
            implied = IMPLIED_CLOSE.get(name)
            if implied is not None:
                self._close_nearest(implied[0], implied[1])
            if name in CLOSES_P and "p" in self.stack:
                self._close_nearest(P_ONLY, P_SCOPE)
            if name == "a" and self.link is not None:
                self._close_nearest(A_ONLY, TABLE_SCOPE)
        void = name in VOID or self_closing
        if self.skip_depth:
            if not void:
                self.stack.append(name)
            return
        if name in SKIPPED or (attrs and self.drop_hidden and _is_hidden(attrs)):
            if not void:
                self.stack.append(name)
                self.skip_depth = len(self.stack)
            return
        if tracked:
            self._open(name, attrs)
            if void:
                self._close(name)
            else:
                self.stack.append(name)
        elif name in VOID_HANDLED:
            self._open(name, attrs)
        # Other inline elements change nothing a reader sees; they are not tracked.

    def _end_tag(self, name: str) -> None:
        stack = self.stack
        if stack and stack[-1] == name:  # the well-formed case
            self._pop()
            return
        if name == "table":
            stops: frozenset[str] = frozenset()
        elif name in TABLE_PARTS:
            stops = TABLE_ONLY
        else:
            stops = TABLE_SCOPE
        names = _SINGLE.get(name) or _SINGLE.setdefault(name, frozenset((name,)))
        if not self._close_nearest(names, stops) and name in BLOCK and not self.skip_depth:
            self._flush()

    def _close_nearest(self, names: frozenset[str], stops: frozenset[str]) -> bool:
        """Pops up to and including the nearest open element in `names`, unless a stop comes first."""
        for i in range(len(self.stack) - 1, -1, -1):
            tag = self.stack[i]
            if tag in names:
                while len(self.stack) > i:
                    self._pop()
                return True
            if tag in stops:
                return False
        return False

    def _pop(self) -> None:
        tag = self.stack.pop()
        if self.skip_depth:
            if len(self.stack) < self.skip_depth:
                self.skip_depth = 0
            return
        self._close(tag)

    def _open(self, name: str, attrs: str) -> None:
        if name in PLAIN_BLOCK:
            self._flush()
            return
        if name == "a":
            href = _attr(attrs, "href") if "href" in attrs.lower() else None
            buf, target = self._buf(), self.targets[-1]
            had_text = any(not piece.isspace() for piece in self.inline)
            self.link = _Link(_keep_href(href), buf, len(buf), self.generation, target, len(target), had_text)
            return
        if name == "img":
            alt = _attr(attrs, "alt") if "alt" in attrs.lower() else None
            alt = _SPACES.sub(" ", alt).strip() if alt else ""
            if alt:
                self._buf().append(f"![{alt}]")
                self.text_chars += len(alt)
            return
        if name == "br":
            if self.pre_depth:
                self.pre_buf.append("\n")
            elif self.heading:
                self.inline.append(" ")
            else:
                self._flush()
            return
        if name in ("base", "link", "meta"):
            self._head_url(name, attrs)
            return
        if name in PRE:
            self._flush()
            self.pre_depth += 1
            return
        if name not in BLOCK:
            return
        self._flush()
        if name in HEADINGS:
            self.heading = HEADINGS[name]
        elif name in LISTS:
            self.lists.append(_List(ordered=name == "ol", count=_start_number(attrs) - 1))
        elif name == "li":
            lst = self.lists[-1] if self.lists else None
            if lst is None:
                lst = _List(ordered=False)
                self.lists.append(lst)
                self.stack.append("ul")  # closed with the item's parent, like a browser's list
            lst.count += 1
            lst.bullet = f"{lst.count}. " if lst.ordered else "- "
            lst.in_item = True
        elif name == "blockquote":
            self.quote += 1
        elif name in SELECTS:
            self.select_depth += 1
            self._push_target()
        elif name == "table":
            self.tables.append(_Table())
        elif name == "tr" and self.tables:
            self._end_row()
            self.tables[-1].row = []
        elif name in ("td", "th") and self.tables:
            table = self.tables[-1]
            if table.row is None:
                table.row = []
            table.in_cell = True
            self._push_target()

    def _close(self, name: str) -> None:
        if name in PLAIN_BLOCK:
            self._flush()
            return
        if name == "a":
            self._end_link()
            return
        if name in PRE:
            self.pre_depth = max(0, self.pre_depth - 1)
            if not self.pre_depth:
                self._emit_pre()
            return
        if name not in BLOCK:
            return
        self._flush()
        if name in HEADINGS:
            self.heading = 0
        elif name in LISTS:
            if self.lists:
                self.lists.pop()
        elif name == "li":
            if self.lists:
                self.lists[-1].in_item = False
                self.lists[-1].bullet = None
        elif name == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif name in SELECTS and self.select_depth:
            self.select_depth -= 1
            options = self._pop_target()
            if options:
                self._put(" | ".join(options))  # one line: a long list of choices costs less
        elif name in ("td", "th") and self.tables and self.tables[-1].in_cell:
            table = self.tables[-1]
            cell = self._pop_target()
            table.in_cell = False
            if table.row is None:
                table.row = []
            table.row.append(cell)
        elif name == "tr" and self.tables:
            self._end_row()
        elif name == "table" and self.tables:
            self._end_row()
            for line in _render_table(self.tables.pop().rows):
                self._put(line)

    def _push_target(self) -> None:
        self.targets.append([])
        self.bases.append((self.quote, len(self.lists)))

    def _pop_target(self) -> list[str]:
        self.bases.pop()
        return self.targets.pop()

    def _end_row(self) -> None:
        table = self.tables[-1]
        if table.row is not None:
            if any(table.row):
                table.rows.append(table.row)
            table.row = None

    # -- text --------------------------------------------------------------------------

    def _buf(self) -> list[str]:
        return self.pre_buf if self.pre_depth else self.inline

    def _data(self, data: str) -> None:
        if self.skip_depth or not data:
            return
        if not self.pre_depth and data.isspace():
            if self.inline and self.inline[-1] != " ":
                self.inline.append(" ")
            return
        if "&" in data:
            data = unescape(data)
        if self.pre_depth:
            self.pre_buf.append(data)
            self.text_chars += len(data.strip())
            return
        data = _SPACES.sub(" ", data)
        if data != " ":
            self.text_chars += len(data)
        self.inline.append(data)

    def _raw_text(self, name: str, raw: str) -> None:
        if self.skip_depth:
            return
        if name == "title":
            if self.title is None:
                title = _SPACES.sub(" ", unescape(raw)).strip()
                self.title = title or None
        elif name in ("textarea", "xmp", "plaintext"):
            self._data(raw)

    def _end_link(self) -> None:
        link, self.link = self.link, None
        if link is None or link.href is None:
            return
        buf = link.buf
        if link.generation == self.generation and buf is self._buf() and link.start <= len(buf):
            inner = "".join(buf[link.start :])
            if not self.pre_depth:
                inner = _MULTI_SPACE.sub(" ", inner)
            core = inner.strip()
            lead = inner[: len(inner) - len(inner.lstrip())]
            trail = inner[len(inner.rstrip()) :]
            del buf[link.start :]
            buf.append(lead + _link_text(core, link.href) + trail)
            return
        # The link holds blocks (`<a><div>Overview</div></a>`): mark up the lines it made.
        if not self.pre_depth:
            self._flush()
        target = self.targets[-1]
        first = link.target_len + (1 if link.had_text else 0)
        if target is not link.target or self.pre_depth or len(target) <= first:
            self._buf().append(f" <{link.href}>")
        elif len(target) == first + 1 and self.last_prefix_len is not None:
            line, cut = target[-1], self.last_prefix_len
            target[-1] = line[:cut] + _link_text(line[cut:], link.href)
        else:
            target[-1] += f" <{link.href}>"

    def _flush(self) -> None:
        self.generation += 1
        if not self.inline:
            return
        line = _MULTI_SPACE.sub(" ", "".join(self.inline)).strip()
        self.inline = []
        if line:
            self._put(line)

    def _put(self, line: str) -> None:
        """Appends one line of text with the prefix of the lists, quotes and heading around it."""
        target = self.targets[-1]
        if self.select_depth:
            target.append(line)
            self.last_prefix_len = 0
            return
        quote_base, list_base = self.bases[-1]
        prefix = "> " * (self.quote - quote_base)
        if len(self.lists) > list_base:
            lst = self.lists[-1]
            prefix += "  " * (len(self.lists) - 1 - list_base)
            if lst.bullet is not None:
                prefix += lst.bullet
                lst.bullet = None
            elif lst.in_item:
                prefix += "  " if not lst.ordered else " " * (len(str(lst.count)) + 2)
        if self.heading:
            prefix += "#" * self.heading + " "
            if target and target[-1] and len(self.targets) == 1:
                target.append("")  # a blank line before a heading costs no token in cl100k
        target.append(prefix + line)
        self.last_prefix_len = len(prefix)

    def _emit_pre(self) -> None:
        content = "".join(self.pre_buf)
        self.pre_buf = []
        self.generation += 1
        if content.startswith("\r\n"):
            content = content[2:]
        elif content.startswith("\n"):
            content = content[1:]
        lines = [ln.rstrip() for ln in content.replace("\r\n", "\n").split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        while lines and not lines[0]:
            lines.pop(0)
        if not lines:
            return
        target = self.targets[-1]
        if self.pre_end_at == (id(target), len(target)) and target and target[-1] == "```":
            target.pop()  # two <pre> blocks in a row read as one
        else:
            target.append("```")
        target.extend(lines)
        target.append("```")
        self.pre_end_at = (id(target), len(target))
        self.last_prefix_len = None

    def _head_url(self, name: str, attrs: str) -> None:
        low = attrs.lower()
        if name == "base" and self.base is None and "href" in low:
            self.base = _absolute(_attr(attrs, "href"))
        elif name == "link" and self.canonical is None and "canonical" in low:
            rel = (_attr(attrs, "rel") or "").lower().split()
            if "canonical" in rel:
                self.canonical = _absolute(_attr(attrs, "href"))
        elif name == "meta" and self.og_url is None and "og:url" in low:
            self.og_url = _absolute(_attr(attrs, "content"))

    def _finish(self) -> _Page:
        unclosed = self.skip_depth != 0
        while self.stack:
            self._pop()
        if self.link is not None:
            self._end_link()
        if self.pre_depth:
            self.pre_depth = 0
            self._emit_pre()
        self._flush()
        while self.tables:
            table = self.tables[-1]
            if table.in_cell and len(self.targets) > 1:
                table.in_cell = False
                if table.row is None:
                    table.row = []
                table.row.append(self._pop_target())
            self._end_row()
            for line in _render_table(self.tables.pop().rows):
                self._put(line)
        while len(self.targets) > 1:
            cell = self._pop_target()
            self.targets[-1].extend(cell)
        lines = self.targets[0]
        while lines and lines[0] == "":
            lines.pop(0)
        return _Page(self.title, self.base or self.canonical or self.og_url, lines, self.text_chars, unclosed)


def _render_table(rows: list[list[list[str]]]) -> list[str]:
    """Rows as ``| a | b |`` lines, or, for a layout table, every cell's lines in order."""
    if not rows:
        return []
    layout = any(
        len(cell) > MAX_CELL_LINES or sum(len(ln) for ln in cell) > MAX_CELL_CHARS or "```" in cell
        for row in rows
        for cell in row
    )
    if layout:
        return [ln for row in rows for cell in row for ln in cell]
    out = []
    for row in rows:
        cells = [" ".join(cell) for cell in row]
        if len(cells) == 1:
            out.append(cells[0])
        else:
            out.append("| " + " | ".join(cells) + " |")
    return out


def _link_text(text: str, href: str) -> str:
    return f"<{href}>" if not text or text == href else f"[{text}]({href})"


def _balance_quotes(text: str, attrs_start: int, attrs: str, end: int) -> tuple[str, int]:
    """Extends a tag whose quoted attribute value contains ``>`` to its real end."""
    for _ in range(8):
        pos = 0
        open_quote = None
        while True:
            m = _EQ_QUOTE.search(attrs, pos)
            if m is None:
                break
            close = attrs.find(m.group(1), m.end())
            if close < 0:
                open_quote = m.group(1)
                break
            pos = close + 1
        if open_quote is None:
            return attrs, end
        close = text.find(open_quote, end)
        gt = text.find(">", close + 1) if close >= 0 else -1
        if gt < 0:
            return attrs, end
        attrs, end = text[attrs_start:gt], gt + 1
    return attrs, end


def _attr(attrs: str, wanted: str) -> str | None:
    for m in _ATTR.finditer(attrs):
        if m.group(1).lower() == wanted:
            value = next((g for g in m.group(2, 3, 4) if g is not None), "")
            return unescape(value) if "&" in value else value
    return None


def _is_hidden(attrs: str) -> bool:
    if _HIDDEN_HINT.search(attrs) is None:
        return False
    for m in _ATTR.finditer(attrs):
        key = m.group(1).lower()
        if key == "hidden":
            return True
        if key == "style":
            value = next((g for g in m.group(2, 3, 4) if g is not None), "")
            if _HIDDEN_STYLE.search(value):
                return True
    return False


def _keep_href(href: str | None) -> str | None:
    """The href worth showing: none for in-page anchors, scripts and inline data."""
    if href is None:
        return None
    href = href.strip().replace("\n", "").replace("\t", "").replace("\r", "")
    low = href[:11].lower()
    if not href or href.startswith("#") or low.startswith(("javascript:", "data:")):
        return None
    return href


def _absolute(url: str | None) -> str | None:
    url = (url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else None


def _start_number(attrs: str) -> int:
    if "start" not in attrs.lower():
        return 1
    value = (_attr(attrs, "start") or "").strip()
    return int(value) if value.isdigit() and len(value) < 9 else 1


HTML = Html()
