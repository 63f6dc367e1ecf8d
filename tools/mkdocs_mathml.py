r"""MkDocs hook: turn the pages' TeX formulas into MathML while the site is built.

pymdownx.arithmatex (generic mode) finds the formulas, ``\(...\)`` inline and ``\[...\]`` on
their own, and leaves each, HTML-escaped, in a ``<span>`` or ``<div>`` of class
``arithmatex``. This hook replaces the TeX in each with MathML from latex2mathml, keeping the
TeX as an annotation. Browsers draw MathML themselves, so the site shows its formulas with no
JavaScript and no network, offline and behind a firewall alike. A formula that latex2mathml
cannot convert fails the build, naming the page and the formula.
"""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert
from mkdocs.exceptions import PluginError

FORMULA = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">'
    r"(?:\\\((?P<inline>.*?)\\\)|\\\[(?P<block>.*?)\\\])"
    r"</(?P=tag)>",
    re.DOTALL,
)

#: latex2mathml writes a command it does not know as text, backslash and all.
UNKNOWN_COMMAND = re.compile(r">[^<]*\\[A-Za-z]+[^<]*<")

#: f' as latex2mathml writes it: the prime as a superscript. A math font's prime is already
#: raised, so as a superscript it flies high and small; set beside the letter it reads as f-prime.
PRIME = re.compile(r"<msup>(<mi>[^<]*</mi>)<mi>&#x02032;</mi></msup>")


def to_mathml(tex: str, display: str) -> str:
    """MathML for one formula (``display`` is ``"inline"`` or ``"block"``), TeX kept inside."""
    mathml = convert(tex.strip(), display=display)
    if UNKNOWN_COMMAND.search(mathml):
        raise ValueError(f"a command latex2mathml does not know: {mathml}")
    mathml = PRIME.sub(r"<mrow>\1<mi>&#x02032;</mi></mrow>", mathml)
    # TeX sets "/" and the partial sign as ordinary symbols, without the space that MathML
    # gives an operator (MathJax writes the same MathML for them).
    mathml = mathml.replace("<mo>&#x0002F;</mo>", '<mo lspace="0" rspace="0">&#x0002F;</mo>')
    mathml = mathml.replace("<mo>&#x02202;</mo>", '<mi mathvariant="normal">&#x02202;</mi>')
    start, end = mathml.index(">") + 1, mathml.rindex("</math>")
    annotation = f'<annotation encoding="application/x-tex">{html.escape(tex.strip())}</annotation>'
    return f"{mathml[:start]}<semantics>{mathml[start:end]}{annotation}</semantics></math>"


def on_page_content(html_text: str, page, **kwargs) -> str:
    """Replace every arithmatex formula of the page with its MathML."""

    def replace(match: re.Match) -> str:
        display = "inline" if match["inline"] is not None else "block"
        tex = html.unescape(match["inline"] if display == "inline" else match["block"])
        try:
            mathml = to_mathml(tex, display)
        except Exception as error:  # latex2mathml raises assorted errors on bad TeX
            raise PluginError(
                f"{page.file.src_uri}: cannot render the formula {tex.strip()!r} as MathML: "
                f"{error}") from error
        return f'<{match["tag"]} class="arithmatex">{mathml}</{match["tag"]}>'

    return FORMULA.sub(replace, html_text)
