"""The live sessions by their browser's secret token: a reloaded page gets its session (and its run) back;
a session no page holds is released after a grace period."""
from __future__ import annotations

import secrets
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import Session

GRACE_S = 600  # a session no page holds any more (closed, or reloading) is released after this


class Sessions:
    """The live sessions by their browser's secret token: a reloaded page gets its session back."""

    def __init__(self, grace_s: float = GRACE_S):
        self.grace_s = grace_s
        self._live: dict[str, Session] = {}
        self._pages: dict[int, int] = {}  # id(session) -> pages holding it
        self._lock = threading.Lock()

    def attach(self, token: str | None, fresh: Session) -> tuple[str, Session]:
        """(token, session) for a page that opened with `token`: its live session, else `fresh` under a new token."""
        with self._lock:
            session = self.find(token)
            if session is None:
                token, session = secrets.token_urlsafe(24), fresh
                self._live[token] = session
            self._pages[id(session)] = self._pages.get(id(session), 0) + 1
            return token, session

    def find(self, token: str | None) -> Session | None:
        """The live session of `token`, without attaching a page to it."""
        session = self._live.get(token) if token else None
        return session if session is not None and not session.closed else None

    def attached(self, session: Session) -> bool:
        return self._pages.get(id(session), 0) > 0

    def caller_left(self, session: Session) -> None:
        """Whoever was following `session`'s run went away: a page can come back to it, an API client cannot,
        so an unattached session's run stops (nobody would see it)."""
        if not self.attached(session):
            session.runs.stop()

    def detach(self, session: Session) -> None:
        """A page holding `session` went away: release it after the grace, unless a page takes it again."""
        with self._lock:
            if id(session) not in self._pages:  # never attached (an API client): nobody can come back to it
                threading.Thread(target=session.release, daemon=True).start()
                return
            self._pages[id(session)] -= 1
        timer = threading.Timer(self.grace_s, self._release_if_unheld, args=(session,))
        timer.daemon = True
        timer.start()

    def _release_if_unheld(self, session: Session) -> None:
        with self._lock:
            if self._pages.get(id(session), 0) > 0:
                return
            self._pages.pop(id(session), None)
            for token in [t for t, s in self._live.items() if s is session]:
                del self._live[token]
        session.release()

    def release_all(self) -> None:
        """The app is closing: every session ends now."""
        with self._lock:
            sessions, self._live, self._pages = list(self._live.values()), {}, {}
        for session in sessions:
            session.release()

    def __len__(self) -> int:
        return len(self._live)

