from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiretrim.compression import marker
from wiretrim.compression.transforms import by_name
from wiretrim.compression.transforms._api import TransformParams
from wiretrim.compression.transforms.html import HEADER, HTML

LEVELS = [TransformParams(level=level) for level in ("lossless", "balanced", "aggressive")]
BALANCED = LEVELS[1]

PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Release notes &ndash; Kestrel 2.4</title>
  <link rel="canonical" href="https://docs.kestrel.dev/releases/2.4/">
  <link rel="stylesheet" href="/static/site.css">
  <style>body { font-family: sans-serif } .x > p { color: red }</style>
  <script>window.dataLayer = [{"page": "<b>releases</b>"}]; if (a < b) { track(); }</script>
</head>
<body>
<!-- tracking pixel below -->
<nav class="top" data-track="nav"><ul>
  <li><a href="/">Home</a></li>
  <li><a href="/docs/" data-ga="docs"><div>Docs</div></a></li>
  <li><a href="https://github.com/kestrel/kestrel"><svg viewBox="0 0 16 16"><path d="M8 0C3"/></svg></a></li>
</ul></nav>
<main>
<h1>Kestrel 2.4 <small>released</small></h1>
<p>This release adds <b>streaming</b> uploads,
   a new <code>--max-body</code> flag and   fixes&nbsp;two crashes. See the
   <a href="https://docs.kestrel.dev/migrate/">migration guide</a> first.</p>
<div style="display: none"><p>Subscribe to our newsletter!</p></div>
<p hidden>Old banner</p>
<h2>Changes</h2>
<ol>
  <li>Uploads stream to disk<ul><li>no more 2 GB limit</li></ul></li>
  <li>TLS 1.3 by default</li>
</ol>
<table>
  <tr><th>Setting</th><th>Default</th></tr>
  <tr><td>max_body</td><td>10 MB</td></tr>
  <tr><td>timeout</td><td>30 s</td></tr>
</table>
<pre><code>$ kestrel serve --max-body 50MB
if size &lt; limit:
    accept()
</code></pre>
<p><img src="/img/chart.png" alt="Throughput chart"> Throughput doubled.</p>
<blockquote><p>Fastest release yet.</p></blockquote>
</main>
<footer><p>&copy; 2024 Kestrel &mdash; <a href="mailto:team@kestrel.dev">team@kestrel.dev</a></p></footer>
</body>
</html>
"""

EXPECTED = """\
[… HTML page reduced to its text and links; markup, scripts and styles removed …]
Title: Release notes – Kestrel 2.4
URL: https://docs.kestrel.dev/releases/2.4/

- [Home](/)
- [Docs](/docs/)
- <https://github.com/kestrel/kestrel>

# Kestrel 2.4 released
This release adds streaming uploads, a new --max-body flag and fixes two crashes. \
See the [migration guide](https://docs.kestrel.dev/migrate/) first.

## Changes
1. Uploads stream to disk
  - no more 2 GB limit
2. TLS 1.3 by default
| Setting | Default |
| max_body | 10 MB |
| timeout | 30 s |
```
$ kestrel serve --max-body 50MB
if size < limit:
    accept()
```
![Throughput chart] Throughput doubled.
> Fastest release yet.
© 2024 Kestrel — [team@kestrel.dev](mailto:team@kestrel.dev)"""


def page(body: str, head: str = "<title>T</title>") -> str:
    """A whole document around `body`, with enough text to be worth converting."""
    filler = "<p>" + "Plenty of ordinary readable text sits in this paragraph. " * 5 + "</p>"
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}{filler}</body></html>"


def body_of(out: str) -> str:
    return out.split("\n\n", 1)[1]


def test_registered():
    assert by_name("html") is HTML


@pytest.mark.parametrize("params", LEVELS, ids=lambda p: p.level)
def test_page_becomes_text_and_links(params):
    assert HTML.apply(PAGE, params) == EXPECTED


def test_header_is_a_marker_but_not_an_omission():
    bodies = marker.find(HTML.apply(PAGE, BALANCED))
    assert bodies == [HEADER[len(marker.OPEN) : -len(marker.CLOSE)]]
    assert marker.parse_omitted(bodies[0]) is None


def test_nothing_from_scripts_styles_comments_hidden_or_attributes():
    out = HTML.apply(PAGE, BALANCED)
    for gone in ("dataLayer", "track()", "font-family", "tracking pixel", "newsletter", "Old banner",
                 "data-ga", "site.css", "M8 0C3", "viewBox", "<b>", "&nbsp;", "&lt;"):
        assert gone not in out


def test_inline_elements_do_not_break_text():
    out = HTML.apply(page("<p>foo <b>bar</b> baz, x<i>y</i>z and <em> spaced </em>out</p>"), BALANCED)
    assert "foo bar baz, xyz and spaced out" in out


def test_entities_are_decoded():
    entities = "<p>&lt;tag&gt; &amp; &quot;q&quot; &#8212; &eacute;t&eacute; &#x27;a&#39;</p>"
    out = HTML.apply(page(entities), BALANCED)
    assert "<tag> & \"q\" — été 'a'" in out


def test_title_and_absolute_hrefs_survive():
    out = HTML.apply(PAGE, BALANCED)
    assert "Release notes – Kestrel 2.4" in out
    assert "https://docs.kestrel.dev/migrate/" in out
    assert "https://github.com/kestrel/kestrel" in out


def test_in_page_and_script_links_keep_only_their_text():
    links = '<p><a href="#top">Back to top</a> or <a href="javascript:void(0)">menu</a></p>'
    out = HTML.apply(page(links), BALANCED)
    assert "Back to top or menu" in out
    assert "#top" not in out
    assert "javascript" not in out


def test_link_whose_text_is_its_href_is_written_once():
    out = HTML.apply(page('<p>See <a href="https://example.org/x">https://example.org/x</a>.</p>'), BALANCED)
    assert "See <https://example.org/x>." in out


def test_pre_is_verbatim_and_adjacent_blocks_merge():
    out = HTML.apply(page("<pre>  a   b\n\tc</pre><!--page break--><pre>d  e</pre>"), BALANCED)
    assert "```\n  a   b\n\tc\nd  e\n```" in out


def test_layout_table_keeps_its_blocks_as_lines():
    long = "Long article text. " * 30
    out = HTML.apply(page(f"<table><tr><td><p>{long}</p><ul><li>one</li><li>two</li></ul></td>"
                          "<td>side</td></tr></table>"), BALANCED)
    assert f"\n{long.strip()}\n- one\n- two\nside\n" in out
    assert "|" not in out


def test_select_options_share_one_line():
    select = "<select><option>Austria</option><option selected>Belgium</option></select>"
    out = HTML.apply(page(select), BALANCED)
    assert "\nAustria | Belgium\n" in out


def test_attribute_holding_a_closing_bracket():
    out = HTML.apply(page('<p><a title="a > b" href="https://e.org/q">quoted</a> tail</p>'), BALANCED)
    assert "[quoted](https://e.org/q) tail" in out


def test_broken_html_keeps_all_text():
    broken = page("<div><p>one<p>two<li>three</div></span></b><table><tr><td>cell<td>next</table>"
                  "<p>after <b>bold <i>both</b> italic</i> end")
    out = HTML.apply(broken, BALANCED)
    text = " ".join(out.split())
    for piece in ("one", "two", "- three", "| cell | next |", "after bold both italic end"):
        assert piece in text


def test_unclosed_hidden_element_does_not_swallow_the_page():
    out = HTML.apply(page('<div style="display:none">promo<p>Real content that matters.</p>'), BALANCED)
    assert "Real content that matters." in out


def test_unclosed_comment_and_script_end_the_page():
    out = HTML.apply(page("<p>kept</p>") + "<script>var x = '</p>';", BALANCED)
    assert "kept" in out
    assert "var x" not in out


def test_script_only_page_is_left_alone():
    spa = '<!DOCTYPE html><html><head><title>App</title></head><body><div id="root"></div>' + (
        "<script>" + "render(app);" * 500 + "</script></body></html>"
    )
    assert HTML.apply(spa, BALANCED) is spa


def test_file_reading_tools_get_the_source():
    params = TransformParams(tool_name="read_file")
    assert HTML.apply(PAGE, params) is PAGE
    assert HTML.apply(PAGE, TransformParams(tool_name="fetch_url")) != PAGE


def test_kept_term_only_in_markup_keeps_the_source():
    params = TransformParams(keep_terms=frozenset({"datalayer"}))
    assert HTML.apply(PAGE, params) is PAGE
    assert HTML.apply(PAGE, TransformParams(keep_terms=frozenset({"kestrel"}))) != PAGE


def test_deterministic():
    assert HTML.apply(PAGE, BALANCED) == HTML.apply(PAGE, BALANCED)


@pytest.mark.parametrize(
    ("text", "score"),
    [
        (PAGE, 0.95),
        ('<?xml version="1.0"?>\n<!DOCTYPE html>\n<html><body><p>x</p></body></html>', 0.95),
        ("<div class=\"card\">" + "<p>Text <a href='/x'>link</a></p><span>more</span>" * 10 + "</div>", 0.8),
    ],
)
def test_detects_pages_and_fragments(text, score):
    assert HTML.detect(text) == score


JINJA = """\
<!DOCTYPE html>
<html>
<head><title>{% block title %}{% endblock %}</title></head>
<body>
  {% for user in users %}<p>{{ user.name }}</p>{% endfor %}
</body>
</html>
"""

JSX = """\
<div className="app">
  <p className="lead">Hello</p>
  {/* comment */}
</div>
"""

SVG = """\
<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="M12 2L2 7l10 5 10-5-10-5z"/></svg>
"""

RSS = """\
<?xml version="1.0"?>
<rss version="2.0"><channel><title>Feed</title><link>https://e.org</link>
<item><title>One</title><link>https://e.org/1</link></item></channel></rss>
"""

MARKDOWN = """\
# Project

<p align="center"><img src="logo.png" alt="logo"></p>

Some **Markdown** text with a <kbd>Ctrl</kbd> key and a <br> break.

- item one
- item two
"""

NUMBERED = "     1\t<!DOCTYPE html>\n     2\t<html>\n     3\t<body><p>x</p></body>\n     4\t</html>\n"


@pytest.mark.parametrize("text", [JINJA, JSX, SVG, RSS, MARKDOWN, NUMBERED, "plain text", ""])
def test_does_not_claim_templates_xml_markdown_or_source(text):
    assert HTML.detect(text) < 0.5


def test_http_headers_before_the_page_stay_verbatim():
    head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: nginx"
    response = head + "\r\n\r\n" + PAGE
    assert HTML.detect(response) == 0.9
    assert HTML.apply(response, BALANCED) == head + "\n" + EXPECTED


def test_html_example_inside_prose_is_not_a_page():
    tutorial = "Start with a minimal page.\nThen open it in a browser and check the title.\n\n" + PAGE
    assert HTML.detect(tutorial) < 0.5


def test_relative_links_point_at_the_canonical_url():
    out = HTML.apply(PAGE, BALANCED)
    assert out.split("\n")[2] == "URL: https://docs.kestrel.dev/releases/2.4/"
    assert re.search(r"\[Docs\]\(/docs/\)", out)


HTML_PIECES = [
    "<", ">", "</", "<!--", "-->", "<p>", "</p>", "<a href='x'>", '<a href="https://e.org/a">', "</a>",
    "<div hidden>", "</div>", "<table>", "<tr>", "<td>", "</td>", "</table>", "<pre>", "</pre>", "<script>",
    "</script>", "<svg>", "</svg>", "<li>", "<ul>", "</ul>", "<br>", "<img alt='z'>", "&amp;", "&#x;", "&",
    "word ", "\n", "  ", "<select>", "<option>", "<h2>", "</h2>", "<blockquote>", '"', "'", "=", "<title>",
    "</title>", "é", "😀",
]


@given(st.lists(st.sampled_from(HTML_PIECES), max_size=60).map("".join))
def test_any_markup_soup_converts_without_loss_of_safety(soup):
    text = page(soup)
    out = HTML.apply(text, BALANCED)
    assert out.strip()
    assert out == HTML.apply(text, BALANCED)
    assert 0.0 <= HTML.detect(soup) <= 1.0
