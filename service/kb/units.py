"""What agent assist searches: knowledge units from three sources."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")


class Source(str, Enum):
    """Where a unit comes from; the value is what the console shows."""

    FAQ = "FAQ"
    POLICY = "政策文档"
    REPLY = "历史回复"


@dataclass(frozen=True)
class KnowledgeUnit:
    """One retrievable answer: `text` goes into the reply box; `title` and `questions` are searched with it."""

    id: str
    source: Source
    title: str
    text: str
    questions: tuple[str, ...] = field(default=())

    def passages(self) -> tuple[str, ...]:
        """The texts a query is compared with, one at a time: the title, the title with the answer, each sentence
        of a policy section (a question is usually about one of them: short passages like the FAQ's questions
        would otherwise outscore a whole section), each question."""
        sentences = [s for s in _SENTENCE_END.split(self.text) if s.strip()] if self.source is Source.POLICY else []
        return tuple(dict.fromkeys((self.title, f"{self.title}\n{self.text}", *sentences, *self.questions)))


@dataclass(frozen=True)
class Suggestion:
    unit: KnowledgeUnit
    score: float
