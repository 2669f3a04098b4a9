"""The Markdown writer's rules: each HTML construct and the Markdown it becomes.

The writer follows markdownify 1.2 with the options the converter always used (ATX headings,
"-" bullets, nothing escaped but "|" in cells, a table's first row its header), so that mails
convert as they did before; where Lexbor's HTML5 tree differs from the old parser's, the
Markdown follows what a browser shows.
"""

from __future__ import annotations

import pytest

from handler.inbound.html_markdown import html_to_markdown

RULES = {
    "headings": (
        "<h1>One</h1><h3>Three  <b>bold</b></h3><h7>Seven</h7>",
        "# One\n\n### Three **bold**\n\n###### Seven",
    ),
    "heading-in-a-cell": (
        "<table><tr><td><h2>In a cell</h2></td></tr></table>",
        "| In a cell |\n| --- |",
    ),
    "lists": (
        "<ol start=3><li>c</li><li>d</li></ol><ul><li>x<ul><li>y<ul><li>z</li></ul></li></ul>"
        "</li></ul>",
        "3. c\n4. d\n\n- x\n  - y\n    - z",
    ),
    "paragraphs-in-an-item": (
        "<ul><li><p>para one</p><p>para two</p></li><li>next</li></ul>",
        "- para one\n\n  para two\n- next",
    ),
    "text-between-lists": (
        "<ul><li>a</li></ul>text after list<ol><li>b</li></ol><ul><li>c</li></ul>",
        "- a\n\ntext after list\n\n1. b\n\n- c",
    ),
    "empty-items-and-quotes": ("<li></li><li>x</li><blockquote></blockquote>", "- x"),
    "quotes": (
        "<blockquote><p>a</p><p>b</p><blockquote>inner</blockquote></blockquote>",
        "> a\n>\n> b\n>\n> > inner",
    ),
    "code": (
        "<p>Use <code>a`b</code> and <code>plain</code>, <kbd>Ctrl</kbd></p>",
        "Use `` a`b `` and `plain`, `Ctrl`",
    ),
    "preformatted": (
        "<pre><code>def f():\n    return 1\n</code></pre>",
        "```\ndef f():\n    return 1\n```",
    ),
    "table-header-and-colspan": (
        "<table><tr><th>A</th><th colspan=2>B</th></tr><tr><td>1</td><td>2</td><td>3</td></tr>"
        "</table>",
        "| A | B | |\n| --- | --- | --- |\n| 1 | 2 | 3 |",
    ),
    "table-head": (
        "<table><thead><tr><th>H</th></tr></thead><tr><td>x</td></tr></table>",
        "| H |\n| --- |\n| x |",
    ),
    "cell-lines-are-one": (
        "<table><tr><td>one<br>two</td><td><p>para</p></td></tr></table>",
        "| one two | para |\n| --- | --- |",
    ),
    "tables-apart": (
        "<table><tr><td>a</td></tr></table><table><tr><th>b</th></tr></table>",
        "| a |\n| --- |\n\n| b |\n| --- |",
    ),
    "definitions": (
        "<dl><dt>Term</dt><dd>Definition\nline</dd></dl>",
        "Term\n:   Definition\n    line",
    ),
    "emphasis-keeps-its-spaces-outside": (
        "<p>a<b> bold </b>b <i></i>c <em>x </em>y</p>",
        "a **bold** b c *x* y",
    ),
    "links": (
        "<p><a href='https://e.org'>https://e.org</a> <a href='https://e.org/a b'>sp</a> "
        "<a>no href</a></p>",
        "https://e.org [sp](https://e.org/a%20b) no href",
    ),
    "link-scheme-read-as-urllib-does": (
        "<p><a href=' java\tscript:x'>tab</a> <a href='HTTPS://e.org'>upper</a></p>",
        "tab [upper](HTTPS://e.org)",
    ),
    "inline-markup": (
        "<p><q>quoted</q> and <s>struck</s> and H<sub>2</sub>O</p>",
        '"quoted" and ~~struck~~ and H2O',
    ),
    "rule": ("<p>a</p><hr><p>b</p>", "a\n\n---\n\nb"),
    "white-space-at-block-edges": (
        "<div>  lead and trail  </div><span> inline </span><div>x</div>",
        "lead and trail\n\n inline\n\nx",
    ),
    "white-space-runs": ("<p>tab\there\r\nand\n\n\nnewlines</p>", "tab here\nand\nnewlines"),
    "nested-blocks": (
        "<section><article>nested <div>blocks</div></article></section>",
        "nested\n\nblocks",
    ),
    # Neither is there for the writer: not even as a sibling that would trim white space.
    "processing-instructions-and-scripts": (
        "<p>a</p><?php x ?><p>b</p><div><script>x</script> <p>after script</p></div>",
        "a\n\nb\n\nafter script",
    ),
}


@pytest.mark.parametrize(("html", "expected"), RULES.values(), ids=RULES.keys())
def test_each_construct_becomes_its_markdown(html, expected):
    """Headings, lists, quotes, code, tables, definitions, links and white space as Markdown."""
    assert html_to_markdown(html) == expected


# Sloppy HTML as mail clients and templates send it: the old parser (the stdlib's) closed no
# implied tag; Lexbor builds the tree a browser does, and the Markdown reads as the mail shows.
HTML5_REPAIRS = {
    "items-close-each-other": ("<ul><li>a<li>b<li>c</ul>", "- a\n- b\n- c"),
    "numbered-items": ("<ol><li>a<li>b</ol>after", "1. a\n2. b\n\nafter"),
    "cells-close-each-other": (
        "<table><tr><td>a<td>b<tr><td>c<td>d</table>",
        "| a | b |\n| --- | --- |\n| c | d |",
    ),
    "end-tag-br": ("<p>line1</br>line2</p>", "line1\nline2"),
    "headings-close-each-other": ("<h1>Title<h2>Sub</h2>", "# Title\n\n## Sub"),
    "nested-list-then-item": (
        "<ul><li>one<ul><li>nested</ul><li>two</ul>",
        "- one\n  - nested\n- two",
    ),
    "definitions-close-each-other": (
        "<dl><dt>Term<dd>Def<dt>T2<dd>D2</dl>",
        "Term\n:   Def\n\nT2\n:   D2",
    ),
    "misnested-formatting": (
        "<b>bold <i>both</b> italic</i> plain",
        "**bold *both*** *italic* plain",
    ),
    "text-in-a-table-goes-before-it": (
        "<table>stray text<tr><td>a</td></tr></table>",
        "stray text\n\n| a |\n| --- |",
    ),
    "caption-then-header-row": (
        "<table><caption>Cap</caption><tr><td>a</td></tr></table>",
        "Cap\n\n| a |\n| --- |",
    ),
}


@pytest.mark.parametrize(("html", "expected"), HTML5_REPAIRS.values(), ids=HTML5_REPAIRS.keys())
def test_sloppy_html_reads_as_a_browser_shows_it(html, expected):
    """Implied end tags close where HTML5 closes them: items, cells and headings stay apart."""
    assert html_to_markdown(html) == expected


def test_quote_prefix_marks_empty_lines_however_many():
    """Every empty line in a quote is ">" (a run of them too), at every level."""
    html = "<blockquote><pre>a\n\n\n\nb</pre><blockquote><p>c</p><p>d</p></blockquote></blockquote>"
    assert html_to_markdown(html) == "> ```\n> a\n>\n>\n>\n> b\n> ```\n>\n> > c\n> >\n> > d"


def test_deep_nesting_past_the_limit_gives_the_text_of_the_tags_kept():
    """Past the depth limit, the text comes a line each, without what is not text."""
    html = "<div>" * 200 + "<script>x</script><p>deep</p><span>er</span>" + "</div>" * 200
    assert html_to_markdown(html) == "deep\ner"
