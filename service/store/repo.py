"""Persistence of sessions, their event log, client messages and grading versions."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.errors import ConflictError, NotFoundError, StoreError
from service.store.locks import SessionLocks
from service.store.models import ClientMessageRow, EventRow, GradingRow, SessionRow, utcnow

GRADING_ATTEMPTS = 5


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _unique_violation(exc: IntegrityError, constraint: str) -> bool:
    """True for a duplicate key on ``constraint`` (Postgres names it; SQLite lists the columns)."""
    text = str(exc.orig)
    return constraint in text or "UNIQUE constraint failed" in text


class Repo:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        engine = factory.kw.get("bind")
        if engine is None:
            raise StoreError("the session factory is not bound to an engine")
        self.locks = SessionLocks(engine)
        # SQLite admits one writer at a time, and a writer that finds the database locked sleeps
        # in steps of up to 100 ms before it tries again; this process's writers queue here
        # instead and start as soon as the previous one commits. Other processes still meet
        # SQLite's busy timeout; Postgres needs no lock (row locks order its writers).
        self._write_lock = threading.RLock() if engine.dialect.name == "sqlite" else None

    def processing_lock(self, session_id: str) -> AbstractContextManager[bool]:
        """Try to become the one worker (in any process) that processes this session's messages."""
        return self.locks.hold(session_id)

    def writer(self) -> AbstractContextManager[object]:
        """The lock a writing transaction holds (reentrant; a no-op on Postgres)."""
        return self._write_lock if self._write_lock is not None else nullcontext()

    @contextmanager
    def tx(self, write: bool = False) -> Iterator[Session]:
        """One transaction; database errors become StoreError (nothing half-written).

        ``write=True`` marks a transaction that writes: it holds ``writer()`` throughout.
        """
        with self.writer() if write else nullcontext(), self._tx() as db:
            yield db

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        db = self.factory()
        try:
            yield db
            db.commit()
        except (ConflictError, NotFoundError):
            db.rollback()
            raise
        except IntegrityError:
            db.rollback()
            raise
        except OperationalError as exc:
            db.rollback()
            raise StoreError(f"database unavailable: {str(exc.orig)[:200]}") from exc
        except SQLAlchemyError as exc:
            db.rollback()
            raise StoreError(f"database error: {str(exc)[:200]}") from exc
        finally:
            db.close()

    # ---- sessions ---------------------------------------------------------------------
    def create_session(self, case_id: str, level: str, minutes: int, mode: str,
                       state: dict[str, Any]) -> tuple[str, str]:
        session_id = "s_" + secrets.token_hex(12)
        token = secrets.token_urlsafe(32)
        with self.tx(write=True) as db:
            db.add(SessionRow(id=session_id, token_hash=hash_token(token), case_id=case_id, level=level,
                              minutes=minutes, mode=mode, status="active", state=state, version=0,
                              next_seq=1))
        return session_id, token

    def get(self, session_id: str) -> SessionRow:
        with self.tx() as db:
            row = db.get(SessionRow, session_id)
            if row is None:
                raise NotFoundError(f"session {session_id} not found")
            db.expunge(row)
            return row

    def check_token(self, session_id: str, token: str) -> bool:
        row = self.get(session_id)
        return secrets.compare_digest(row.token_hash, hash_token(token or ""))

    def list_sessions(self, limit: int = 100, offset: int = 0) -> list[SessionRow]:
        with self.tx() as db:
            rows = db.scalars(select(SessionRow).order_by(SessionRow.created_at.desc())
                              .limit(limit).offset(offset)).all()
            for row in rows:
                db.expunge(row)
            return list(rows)

    def delete_session(self, session_id: str) -> None:
        with self.tx(write=True) as db:
            # lock the session row first, in the same order as every writer (no deadlock on Postgres)
            found = db.scalar(select(SessionRow.id).where(SessionRow.id == session_id).with_for_update())
            if found is None:
                raise NotFoundError(f"session {session_id} not found")
            for model in (EventRow, ClientMessageRow, GradingRow):
                db.execute(delete(model).where(model.session_id == session_id))
            db.execute(delete(SessionRow).where(SessionRow.id == session_id))
        self.locks.forget(session_id)

    def save_state(self, db: Session, session_id: str, version: int, state: dict[str, Any], status: str) -> int:
        """Optimistic update: fails with ConflictError when another writer got there first."""
        result = db.execute(update(SessionRow).where(SessionRow.id == session_id, SessionRow.version == version)
                            .values(state=state, version=version + 1, status=status, updated_at=utcnow()))
        if result.rowcount != 1:
            raise ConflictError(f"session {session_id} changed concurrently")
        return version + 1

    # ---- events -----------------------------------------------------------------------
    def append_events(self, db: Session, session_id: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Give each event the session's next sequence numbers and store it.

        One atomic ``UPDATE … SET next_seq = next_seq + n RETURNING next_seq`` reserves the range:
        Postgres holds the row lock and SQLite the write lock until commit, so concurrent writers
        (threads or replicas) queue up, commit in sequence order and a rollback gives the range
        back — no duplicate and no gap. The unique (session_id, seq) constraint backs this up.
        """
        if not events:
            return []
        end = db.execute(update(SessionRow).where(SessionRow.id == session_id)
                         .values(next_seq=SessionRow.next_seq + len(events))
                         .returning(SessionRow.next_seq)
                         .execution_options(synchronize_session=False)).scalar_one_or_none()
        if end is None:
            raise NotFoundError(f"session {session_id} not found")
        first = end - len(events)
        out = []
        for n, ev in enumerate(events):
            stored = {**ev, "seq": first + n}
            db.add(EventRow(session_id=session_id, seq=first + n, type=ev["type"], payload=stored))
            out.append(stored)
        return out

    def emit(self, session_id: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.tx(write=True) as db:
            return self.append_events(db, session_id, events)

    def events_after(self, session_id: str, after: int) -> list[dict[str, Any]]:
        with self.tx() as db:
            rows = db.scalars(select(EventRow).where(EventRow.session_id == session_id, EventRow.seq > after)
                              .order_by(EventRow.seq)).all()
            return [dict(r.payload) for r in rows]

    def last_seq(self, session_id: str) -> int:
        with self.tx() as db:
            return int(db.scalar(select(func.max(EventRow.seq)).where(EventRow.session_id == session_id)) or 0)

    # ---- client messages --------------------------------------------------------------
    def record_message(self, session_id: str, client_id: str, kind: str, text: str,
                       ack: dict[str, Any] | None = None) -> tuple[bool, list[dict[str, Any]]]:
        """Store a candidate message durably, with ``ack`` in the same transaction when given.

        Returns (fresh, stored ack events); fresh is False when this client id was seen before,
        and then nothing is stored (the caller acknowledges the duplicate separately).
        """
        try:
            with self.tx(write=True) as db:
                db.add(ClientMessageRow(session_id=session_id, client_id=client_id, type=kind, text=text,
                                        processed=False))
                db.flush()  # a duplicate client id fails here, before the ack takes a sequence number
                return True, self.append_events(db, session_id, [ack] if ack else [])
        except IntegrityError as exc:
            if _unique_violation(exc, "uq_client_msg"):
                return False, []
            raise NotFoundError(f"session {session_id} not found") from exc  # deleted meanwhile (foreign key)

    def pending_messages(self, session_id: str) -> list[ClientMessageRow]:
        with self.tx() as db:
            rows = db.scalars(select(ClientMessageRow).where(ClientMessageRow.session_id == session_id,
                                                             ClientMessageRow.processed.is_(False))
                              .order_by(ClientMessageRow.id)).all()
            for row in rows:
                db.expunge(row)
            return list(rows)

    def mark_processed(self, db: Session, session_id: str, client_id: str) -> None:
        db.execute(update(ClientMessageRow).where(ClientMessageRow.session_id == session_id,
                                                  ClientMessageRow.client_id == client_id)
                   .values(processed=True))

    # ---- gradings ---------------------------------------------------------------------
    def add_grading(self, session_id: str, grader: str, prompt_version: str, scorecard: dict[str, Any],
                    verdicts: dict[str, Any]) -> int:
        """Store the next grading version; two writers racing for one number retry (unique constraint)."""
        for attempt in range(GRADING_ATTEMPTS):
            try:
                with self.tx(write=True) as db:
                    return self.insert_grading(db, session_id, grader, prompt_version, scorecard, verdicts)
            except IntegrityError as exc:
                if not _unique_violation(exc, "uq_grading_version"):
                    raise NotFoundError(f"session {session_id} not found") from exc
                if attempt == GRADING_ATTEMPTS - 1:
                    raise ConflictError(f"session {session_id}: grading version kept colliding") from exc
                time.sleep(0.02 * (attempt + 1))
        raise AssertionError("unreachable")

    def insert_grading(self, db: Session, session_id: str, grader: str, prompt_version: str,
                       scorecard: dict[str, Any], verdicts: dict[str, Any]) -> int:
        current = db.scalar(select(func.max(GradingRow.version)).where(GradingRow.session_id == session_id))
        version = int(current or 0) + 1
        db.add(GradingRow(session_id=session_id, version=version, grader=grader[:120],
                          prompt_version=prompt_version[:40], scorecard=scorecard, verdicts=verdicts))
        db.flush()  # surface a duplicate version here, inside the caller's transaction
        return version

    def gradings(self, session_id: str) -> list[GradingRow]:
        with self.tx() as db:
            rows = db.scalars(select(GradingRow).where(GradingRow.session_id == session_id)
                              .order_by(GradingRow.version)).all()
            for row in rows:
                db.expunge(row)
            return list(rows)
