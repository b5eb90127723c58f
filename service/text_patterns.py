"""Regular-expression pieces that read the same in Python and in ECMA-262 (the dialect of OpenAPI's `pattern`).

`\\s` and `\\S` do not: ECMA-262 counts U+0085 as a character and U+FEFF as whitespace, Python's str.strip() the
other way round. A schema that said `\\S` let a client send "\\u0085", which the API (stripping it) refused as blank.
These spell out exactly the characters str.isspace() calls whitespace, so a pattern and strip() agree.
"""

from __future__ import annotations

SPACE = r"\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # inside [...]
NOT_BLANK = rf"[^{SPACE}]"  # a text with something besides whitespace (the same test as strip())
