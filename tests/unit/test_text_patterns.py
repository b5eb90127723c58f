"""The desk's schemas and its own checks agree on what a blank text is, whichever regex dialect reads the schema."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from service.canned_replies.placeholders import TEXT_PATTERN
from service.text_patterns import NOT_BLANK

ALL = "".join(chr(c) for c in range(1, 0x3001))  # every whitespace character str.isspace() knows is below U+3001


def test_not_blank_matches_a_text_exactly_when_strip_leaves_something() -> None:
    pattern = re.compile(NOT_BLANK)
    assert [c for c in ALL if (pattern.search(c) is None) != (c.strip() == "")] == []
    assert pattern.search("\u0085") is None and pattern.search("\ufeff")  # the two the dialects disagree on
    assert re.search(TEXT_PATTERN, "\u0085您好") and not re.search(TEXT_PATTERN, "\u0085 \u3000")


@pytest.mark.skipif(shutil.which("node") is None, reason="node (installed by make web-deps) reads ECMA-262 regexes")
def test_ecma_262_reads_the_pattern_as_python_does() -> None:
    script = ("const p = new RegExp(process.argv[1]); let out = '';"
              "for (let c = 1; c <= 0x3000; c++) { if (!p.test(String.fromCharCode(c))) out += c + ','; }"
              "console.log(out);")
    blank = subprocess.run(["node", "-e", script, NOT_BLANK], capture_output=True, text=True, check=True, timeout=30)
    assert [chr(int(c)) for c in blank.stdout.strip().strip(",").split(",")] == [c for c in ALL if c.isspace()]
