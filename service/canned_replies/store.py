"""Canned replies in SQL: checking a reply before it is saved, CRUD, search, and which replies a staff member sees.

Who may change them (主管 only) is the desk route's guard; who sees which is `scope_for` here: an agent the replies of
their own skill groups and the ones for every group, a supervisor all of them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError

from service.canned_replies.placeholders import PlaceholderError, names_in
from service.canned_replies.schema import canned_replies as T
from service.clock import Clock
from service.errors import InvalidInput, NotAllowed, NotFound
from service.logs import log_event

logger = logging.getLogger(__name__)
MAX_TITLE = 30
MAX_TEXT = 1000
MAX_SHORTCUT = 16
MAX_QUERY = 50
MAX_ROWS = 200  # a listing never returns more
SHORTCUT = re.compile(r"[A-Za-z0-9_-]{1,16}")
SHORTCUT_PATTERN = r"^[A-Za-z0-9_-]{1,16}$"  # the same, for the OpenAPI description


@dataclass(frozen=True)
class ReplyDraft:
    """What a supervisor sends; `check` gives it back trimmed and normalised, or refuses it."""

    title: str
    text: str
    shortcut: str | None = None
    group: str | None = None  # None: every skill group's chats


@dataclass(frozen=True)
class CannedReply:
    id: int
    title: str
    text: str
    shortcut: str | None
    group: str | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime

    @property
    def placeholders(self) -> tuple[str, ...]:
        try:
            return names_in(self.text)
        except PlaceholderError:  # only a row written around the desk can have one
            return ()


@dataclass(frozen=True)
class Scope:
    """Replies of `groups` (every group's when None) and the ones for all groups."""

    groups: frozenset[str] | None


def scope_for(all_groups: Collection[str], own_groups: Collection[str], supervisor: bool,
              wanted: str | None = None) -> Scope:
    """What a staff member may list: 主管 everything (or one group's), 坐席 their groups' (or one of them);
    InvalidInput for a group that does not exist, NotAllowed for an agent asking for another group's."""
    if wanted is not None and wanted not in all_groups:
        raise InvalidInput("group", f"没有技能组 {wanted[:20]}；可选：{'、'.join(all_groups)}")
    if supervisor:
        return Scope(None if wanted is None else frozenset({wanted}))
    own = frozenset(own_groups) & frozenset(all_groups)
    if wanted is None:
        return Scope(own)
    if wanted not in own:
        raise NotAllowed("wrong_group", f"技能组 {wanted} 不是您的技能组，看不到它的快捷回复")
    return Scope(frozenset({wanted}))


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _rank(reply: CannedReply, query: str) -> tuple[int, int, int]:
    shortcut, title = (reply.shortcut or ""), reply.title.lower()
    if shortcut == query:
        place = 0
    elif shortcut.startswith(query):
        place = 1
    elif title.startswith(query):
        place = 2
    elif query in title:
        place = 3
    else:
        place = 4
    return place, 0 if reply.group else 1, reply.id


class CannedReplies:
    """Synchronous and thread-safe; async callers run it in a worker thread. `groups`: handoff.yml's skill groups."""

    def __init__(self, engine: Engine, groups: Collection[str], clock: Clock | None = None) -> None:
        self._engine = engine
        self.groups = tuple(groups)
        self._clock = clock or Clock()

    # --- checking -----------------------------------------------------------------------------

    def check(self, draft: ReplyDraft) -> ReplyDraft:
        """The draft trimmed (the title on one line, the shortcut in lower case, "" for none); InvalidInput with a
        Chinese reason otherwise."""
        title, text = " ".join(draft.title.split()), draft.text.strip()  # one line; lengths are counted as sent
        if not title:
            raise InvalidInput("title", "标题不能为空")
        if len(draft.title) > MAX_TITLE:
            raise InvalidInput("title", f"标题最多 {MAX_TITLE} 个字")
        if not text:
            raise InvalidInput("text", "回复内容不能为空")
        if len(draft.text) > MAX_TEXT:
            raise InvalidInput("text", f"回复内容最多 {MAX_TEXT} 个字")
        try:
            names_in(text)
        except PlaceholderError as exc:
            raise InvalidInput("text", str(exc)) from exc
        shortcut = draft.shortcut or None
        if shortcut is not None and not SHORTCUT.fullmatch(shortcut):
            raise InvalidInput("shortcut", f"快捷码只能用字母、数字、- 和 _，最多 {MAX_SHORTCUT} 个")
        group = draft.group
        if group is not None and group not in self.groups:
            raise InvalidInput("group", f"没有技能组 {group[:20]}；可选：{'、'.join(self.groups)}，或留空表示所有技能组")
        return ReplyDraft(title, text, shortcut.lower() if shortcut else None, group)

    # --- reading ------------------------------------------------------------------------------

    def search(self, scope: Scope, query: str = "") -> list[CannedReply]:
        """Replies in scope whose title, text or shortcut has `query` (best matches first; all in creation order
        without one), at most MAX_ROWS."""
        statement = select(T)
        if scope.groups is not None:
            statement = statement.where(or_(T.c.skill_group.is_(None), T.c.skill_group.in_(sorted(scope.groups))))
        wanted = query.strip().lower()[:MAX_QUERY]
        if wanted:
            pattern = _like(wanted)
            statement = statement.where(or_(T.c.title.ilike(pattern, escape="\\"), T.c.text.ilike(pattern, escape="\\"),
                                            T.c.shortcut.ilike(pattern, escape="\\")))
        with self._engine.connect() as conn:
            rows = conn.execute(statement.order_by(T.c.id).limit(MAX_ROWS)).all()
        replies = [self._reply(row) for row in rows]
        return sorted(replies, key=lambda r: _rank(r, wanted)) if wanted else replies

    def get(self, reply_id: int) -> CannedReply:
        with self._engine.connect() as conn:
            row = conn.execute(select(T).where(T.c.id == reply_id)).first()
        if row is None:
            raise NotFound("canned reply", str(reply_id))
        return self._reply(row)

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(T)).scalar_one())

    # --- writing ------------------------------------------------------------------------------

    def create(self, draft: ReplyDraft, by: str) -> CannedReply:
        checked = self.check(draft)
        now = self._clock.now()
        values = {"title": checked.title, "text": checked.text, "shortcut": checked.shortcut,
                  "skill_group": checked.group, "created_by": by, "created_at": now, "updated_by": by,
                  "updated_at": now}
        with _unique_shortcut(checked.shortcut), self._engine.begin() as conn:
            reply_id = int(conn.execute(insert(T).values(**values)).inserted_primary_key[0])
        log_event(logger, "canned_reply_created", id=reply_id, group=checked.group or "-", by=by)
        return self.get(reply_id)

    def update(self, reply_id: int, draft: ReplyDraft, by: str) -> CannedReply:
        checked = self.check(draft)
        values = {"title": checked.title, "text": checked.text, "shortcut": checked.shortcut,
                  "skill_group": checked.group, "updated_by": by, "updated_at": self._clock.now()}
        with _unique_shortcut(checked.shortcut), self._engine.begin() as conn:
            changed = conn.execute(update(T).where(T.c.id == reply_id).values(**values)).rowcount
        if not changed:
            raise NotFound("canned reply", str(reply_id))
        log_event(logger, "canned_reply_updated", id=reply_id, group=checked.group or "-", by=by)
        return self.get(reply_id)

    def delete(self, reply_id: int, by: str) -> None:
        with self._engine.begin() as conn:
            removed = conn.execute(delete(T).where(T.c.id == reply_id)).rowcount
        if not removed:
            raise NotFound("canned reply", str(reply_id))
        log_event(logger, "canned_reply_deleted", id=reply_id, by=by)

    def seed(self, drafts: Iterable[ReplyDraft], by: str = "system") -> int:
        """The drafts for known groups (or all groups), on an empty table only; how many were added."""
        if self.count():
            return 0
        now = self._clock.now()
        rows = []
        for draft in drafts:
            if draft.group is not None and draft.group not in self.groups:
                continue  # a handoff.yml without that group
            checked = self.check(draft)
            rows.append({"title": checked.title, "text": checked.text, "shortcut": checked.shortcut,
                         "skill_group": checked.group, "created_by": by, "created_at": now, "updated_by": by,
                         "updated_at": now})
        if rows:
            with self._engine.begin() as conn:
                conn.execute(insert(T), rows)
            log_event(logger, "canned_replies_seeded", count=len(rows))
        return len(rows)

    @staticmethod
    def _reply(row: Row) -> CannedReply:
        return CannedReply(row.id, row.title, row.text, row.shortcut, row.skill_group, row.created_by,
                           row.created_at, row.updated_by, row.updated_at)


@contextmanager
def _unique_shortcut(shortcut: str | None) -> Iterator[None]:
    """The unique index's refusal as NotAllowed("shortcut_taken"), with a reason."""
    try:
        yield
    except IntegrityError as exc:
        if shortcut:
            raise NotAllowed("shortcut_taken", f"快捷码 {shortcut} 已被另一条快捷回复使用") from exc
        raise
