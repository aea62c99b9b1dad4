"""Classify and store one batch of raw MQTT messages, in this process or in a store process.

The store process exists for throughput: paho's packet handling and the classify/insert work are
both CPU-bound Python, so under one GIL they take turns. With the storing in a child process the
hub's paho thread keeps receiving on one core while the batch is validated and written on the
other. The child holds no state that matters: if it dies, the batch is stored again by a new one
(inserts are idempotent, nothing was acked).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from hub.db.session import SessionFactory, make_engine, make_session_factory, transaction
from hub.ingest.classify import Accepted, Rejected, classify
from hub.ingest.raw import RawMessage
from hub.ingest.store import BatchOutcome, persist_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoreConfig:
    db_url: str
    max_payload_bytes: int
    auto_register: bool
    handled_types: frozenset[str]
    quiet_types: frozenset[str]  # stored but not handed back one by one (no handler, not on the live feed)


# The database is away (restart, network, lock): the writer waits and retries. Anything else is a
# message the database will never take (e.g. a NUL character PostgreSQL refuses in JSON): isolate it.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError, DisconnectionError, SATimeoutError)


class DatabaseUnavailable(Exception):
    """The database cannot take the batch right now; nothing of it was acked, so devices still hold it."""


@dataclass(frozen=True, slots=True)
class StoreFailed:
    """What the store process answers instead of an outcome when the database is away."""

    error: str


def describe_db_error(exc: BaseException) -> str:
    """One short line (the driver's first line, never the statement and its parameters)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    first = lines[0] if lines else ""
    return f"{orig.__class__.__name__}: {first}"[:300]


def store_batch(sessions: SessionFactory, raw: list[RawMessage], cfg: StoreConfig) -> BatchOutcome:
    """Store one batch; raises ``DatabaseUnavailable`` (the caller retries: it knows the backlog and
    reports the outage in /healthz, which a store process blocked in a retry loop could not)."""
    items: list[Accepted | Rejected] = [classify(m, max_bytes=cfg.max_payload_bytes) for m in raw]
    return _store_items(sessions, items, cfg)


def _store_items(sessions: SessionFactory, items: list[Accepted | Rejected], cfg: StoreConfig) -> BatchOutcome:
    try:
        with transaction(sessions) as session:
            return persist_batch(session, items, handled_types=cfg.handled_types,
                                 quiet_types=cfg.quiet_types, auto_register=cfg.auto_register)
    except TRANSIENT_DB_ERRORS as exc:
        raise DatabaseUnavailable(describe_db_error(exc)) from exc
    except Exception as exc:
        if len(items) > 1:  # bisect to find the message the database refuses
            half = len(items) // 2
            return _store_items(sessions, items[:half], cfg).merge(_store_items(sessions, items[half:], cfg))
        return _poison(sessions, items[0], exc, cfg)


def _poison(sessions: SessionFactory, item: Accepted | Rejected, exc: Exception, cfg: StoreConfig) -> BatchOutcome:
    """One message the database refuses: keep it as a dead letter (acked, so not resent forever)."""
    log.error("ingest: the database refuses a message on %s: %s", item.raw.topic, exc)
    event_id = getattr(item.payload, "event_id", None) if isinstance(item, Accepted) else item.ack_event_id
    detail = f"{exc.__class__.__name__}: {exc}"[:1000].replace("\x00", "\\0")
    rejected = Rejected(item.raw, "store_error", detail,
                        getattr(item, "device_id", None), event_id)
    try:
        return _store_items(sessions, [rejected], cfg)
    except DatabaseUnavailable:
        raise
    except Exception:
        log.exception("ingest: cannot even dead-letter the message on %s; it stays unacked", item.raw.topic)
        return BatchOutcome()


class InProcessStore:
    def __init__(self, sessions: SessionFactory, cfg: StoreConfig) -> None:
        self.sessions, self.cfg = sessions, cfg

    def start(self) -> None:
        pass

    def __call__(self, raw: list[RawMessage]) -> BatchOutcome:
        return store_batch(self.sessions, raw, self.cfg)

    def stop(self) -> None:
        pass


def _child_main(conn: Connection, cfg: StoreConfig) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the store stops
    import protocol  # noqa: F401  (registers every event body model)

    engine = make_engine(cfg.db_url)
    sessions = make_session_factory(engine)
    try:
        while True:
            try:
                batch = conn.recv()
            except EOFError:  # the hub is gone (even SIGKILLed): leave with it
                break
            if batch is None:
                break
            raw = [RawMessage(*t) for t in batch]
            result: BatchOutcome | StoreFailed
            try:
                result = store_batch(sessions, raw, cfg)
            except DatabaseUnavailable as exc:
                result = StoreFailed(str(exc))
            conn.send(result)
    finally:
        engine.dispose()


def _context() -> Any:
    ctx = mp.get_context("forkserver")
    # Children fork from a server that already imported the ingest: starting one costs milliseconds.
    ctx.set_forkserver_preload(["hub.ingest.batch_store", "protocol"])
    return ctx


class SubprocessStore:
    def __init__(self, cfg: StoreConfig) -> None:
        self.cfg = cfg
        self._proc: Any = None
        self._conn: Connection | None = None
        self.restarts = 0

    def start(self) -> None:
        ctx = _context()
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child_main, args=(child, self.cfg), name="officehub-store", daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def __call__(self, raw: list[RawMessage]) -> BatchOutcome:
        """The batch's outcome; raises ``DatabaseUnavailable`` as ``store_batch`` does."""
        payload = [(m.topic, m.payload, m.retain, m.received_at) for m in raw]
        while True:
            assert self._conn is not None
            try:
                self._conn.send(payload)
                outcome: BatchOutcome | StoreFailed = self._conn.recv()
                if isinstance(outcome, StoreFailed):
                    raise DatabaseUnavailable(outcome.error)
                return outcome
            except (EOFError, OSError, BrokenPipeError) as exc:
                log.error("ingest store process died (%s); starting a new one and storing the batch again", exc)
                self.restarts += 1
                self._close()
                time.sleep(0.2)
                self.start()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(1)
            if self._proc.is_alive():
                self._proc.kill()
            self._proc = None

    def stop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(None)
        if self._proc is not None:
            self._proc.join(10)
        self._close()
