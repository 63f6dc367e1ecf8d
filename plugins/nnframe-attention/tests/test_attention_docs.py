"""docs/attention.md runs as written: its Python blocks in order, in one namespace, in a
temporary folder, and the output it shows is what they print."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[3] / "docs" / "attention.md"
BLOCK = re.compile(r"(<!-- skip: next -->\n)?```(\w+)\n(.*?)^```", re.S | re.M)


def test_the_page_runs_and_prints_what_it_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    printed = io.StringIO()
    shown = []
    for number, (skip, language, code) in enumerate(BLOCK.findall(PAGE.read_text()), 1):
        if skip:
            continue
        if language == "python":
            with contextlib.redirect_stdout(printed):
                exec(compile(code, f"docs/attention.md, block {number}", "exec"), namespace)
        elif language == "text":
            shown.append(code)
    output = printed.getvalue()
    for text in shown:
        assert text in output, f"the page shows {text!r}; the code printed {output!r}"
