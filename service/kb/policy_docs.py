"""Policy document units: docs/kb/<name>.md, one unit per `## 标题 {#anchor}` section (id `kb/<name>#<anchor>`).

A document is `# 文档标题` then sections; a section's title is shown as `文档标题 · 小节标题`, its body is the answer."""

from __future__ import annotations

import re
from pathlib import Path

from service.kb.units import KnowledgeUnit, Source

_DOCUMENT_TITLE = re.compile(r"^#\s+(.+?)\s*$")
_SECTION = re.compile(r"^##\s+(.+?)\s*(?:\{#([A-Za-z0-9_-]+)\})?\s*$")


def section_units(name: str, markdown: str) -> list[KnowledgeUnit]:
    """The sections of one document (pure). A section without an anchor is numbered (s1, s2, …)."""
    document = name
    units: list[KnowledgeUnit] = []
    heading: tuple[str, str] | None = None
    body: list[str] = []

    def flush() -> None:
        text = "\n".join(line for line in body if line.strip()).strip()
        if heading is not None and text:
            title, anchor = heading
            units.append(KnowledgeUnit(f"kb/{name}#{anchor}", Source.POLICY, f"{document} · {title}", text))

    for line in markdown.splitlines():
        section = _SECTION.match(line)
        top = _DOCUMENT_TITLE.match(line) if not line.startswith("##") else None
        if top:
            document = top.group(1)
        elif section:
            flush()
            heading, body = (section.group(1), section.group(2) or f"s{len(units) + 1}"), []
        else:
            body.append(line)
    flush()
    return units


def load_policy_docs(kb_dir: Path) -> list[KnowledgeUnit]:
    """Every section of docs/kb/*.md, documents in name order."""
    units: list[KnowledgeUnit] = []
    for path in sorted(kb_dir.glob("*.md")):
        if path.stem.upper() == "README":
            continue  # how to write them, not a policy
        units.extend(section_units(path.stem, path.read_text(encoding="utf-8")))
    return units
