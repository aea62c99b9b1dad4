"""The hub's face worker pool: a few processes (one per core) that run every face job.

Why processes: dlib is not thread-safe and a native crash kills the process it runs in. In a
worker, a crash costs the one request it held (answered 503 with a retry hint); the pool logs it,
counts it and starts a replacement, and the hub keeps serving.

Backpressure: at most ``size + queue_limit`` jobs are admitted; past that ``submit`` refuses at once
with ``FaceEngineBusy`` instead of piling up requests (and their images) in memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any

from facecore.worker import PING, FaceJob, FaceReply
from hub.services.errors import ServiceError

log = logging.getLogger(__name__)

# The worker's start (Python, numpy, OpenCV, dlib and the models) must fit in the first job's wait.
START_GRACE_S = 60.0
_WORKER_MAIN = "import sys; from facecore.worker import main; sys.exit(main(sys.argv))"


class FaceEngineUnavailable(ServiceError, RuntimeError):
    """The face engine could not do the job now; the caller answers 503 with ``retry_after_s``.
    code: busy | worker_crashed | timeout | stopped."""

    retry_after_s: int

    def __init__(self, code: str, message: str, *, retry_after_s: int) -> None:
        # The body's code is prefixed: the client tells the engine's state from other refusals.
        super().__init__(f"face engine {code}: {message}", status=503, code=code,
                         details={"code": f"face_engine_{code}"}, retry_after_s=retry_after_s)
        self.message = message


class FaceEngineBusy(FaceEngineUnavailable):
    def __init__(self, message: str, *, retry_after_s: int = 2) -> None:
        super().__init__("busy", message, retry_after_s=retry_after_s)


@dataclass
class FaceEngineStats:
    jobs: int = 0
    busy_refusals: int = 0
    crashes: int = 0
    timeouts: int = 0
    recycled: int = 0


class _Worker:
    def __init__(self, *, min_face_px: int) -> None:
        parent, child = Pipe(duplex=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER_MAIN, str(child.fileno()), str(min_face_px)],
            pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, env=env)
        child.close()
        self.conn: Connection = parent
        self.started = time.monotonic()
        self.jobs = 0
        self.busy = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, job: FaceJob, *, timeout_s: float) -> FaceReply:
        """One job. EOFError/OSError: the worker died; TimeoutError: it did not answer in time."""
        self.conn.send(job)
        # A fresh worker may still be loading its models: that is not the job's fault.
        grace = max(0.0, START_GRACE_S - (time.monotonic() - self.started)) if self.jobs == 0 else 0.0
        if not self.conn.poll(timeout_s + grace):
            raise TimeoutError(f"no answer in {timeout_s + grace:.0f} s")
        reply = self.conn.recv()
        if not isinstance(reply, FaceReply):
            raise OSError(f"unexpected reply {type(reply).__name__}")
        self.jobs += 1
        return reply

    def stop(self, *, kill: bool = False) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()  # EOF: an idle worker exits by itself
        if kill:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


class FaceWorkerPool:
    def __init__(self, *, size: int, queue_limit: int, timeout_s: float, min_face_px: int,
                 max_rss_mb: int = 1536) -> None:
        if size < 1 or queue_limit < 0:
            raise ValueError("a face worker pool needs size >= 1 and queue_limit >= 0")
        self.size, self.queue_limit, self.timeout_s = size, queue_limit, timeout_s
        self.min_face_px, self.max_rss_kb = min_face_px, max_rss_mb * 1024
        self.stats = FaceEngineStats()
        self._admitted = threading.BoundedSemaphore(size + queue_limit)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the workers (idempotent; the first job starts them too)."""
        with self._lock:
            if self._started or self._stopped:
                return
            for _ in range(self.size):
                self._spawn_locked()
            self._started = True

    def warm(self) -> None:
        """Start the workers and have each load its models now, not on the first real job."""
        self.start()
        for _ in range(self.size):
            self.submit(FaceJob(kind=PING))

    def warm_in_background(self) -> None:
        def warm() -> None:
            try:
                self.warm()
            except FaceEngineUnavailable as exc:
                log.warning("face workers did not warm up: %s", exc)

        threading.Thread(target=warm, name="face-warmup", daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()

    def _spawn_locked(self) -> None:
        worker = _Worker(min_face_px=self.min_face_px)
        self._workers.append(worker)
        self._idle.put(worker)

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        """Take a worker out (dead, stuck or grown too big) and start its replacement."""
        worker.stop(kill=kill)
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
            if not self._stopped:
                self._spawn_locked()

    # --- jobs ---------------------------------------------------------------------------------
    def submit(self, job: FaceJob) -> FaceReply:
        """Run one job on a worker; blocks while it runs. Raises FaceEngineUnavailable."""
        if self._stopped:
            raise FaceEngineUnavailable("stopped", "the hub is shutting down", retry_after_s=10)
        if not self._admitted.acquire(blocking=False):
            self.stats.busy_refusals += 1
            raise FaceEngineBusy(f"{self.size} workers busy and {self.queue_limit} requests waiting")
        try:
            self.start()
            return self._run(self._take_idle(), job)
        finally:
            self._admitted.release()

    def _take_idle(self) -> _Worker:
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stats.busy_refusals += 1
                raise FaceEngineBusy(f"no face worker free within {self.timeout_s:.0f} s") from None
            if worker.alive():
                return worker
            # Died while idle (killed, out of memory): not this request's fault; take its replacement.
            self.stats.crashes += 1
            log.error("face worker %s died while idle (exit %s): replaced", worker.pid, worker.proc.poll())
            self._retire(worker, kill=True)

    def _run(self, worker: _Worker, job: FaceJob) -> FaceReply:
        worker.busy = True
        try:
            reply = worker.call(job, timeout_s=self.timeout_s)
        except TimeoutError as exc:
            self.stats.timeouts += 1
            log.error("face worker %s stuck (%s): killed and replaced", worker.pid, exc)
            self._retire(worker, kill=True)
            raise FaceEngineUnavailable("timeout", f"the face job took longer than {self.timeout_s:.0f} s",
                                        retry_after_s=5) from None
        except (EOFError, OSError) as exc:
            self.stats.crashes += 1
            code = worker.proc.poll()
            log.error("face worker %s died during a %s job (exit %s, %s): replaced; the request gets a 503",
                      worker.pid, job.kind, code, type(exc).__name__)
            self._retire(worker, kill=True)
            raise FaceEngineUnavailable("worker_crashed", "the face worker handling this request stopped; "
                                        "retry", retry_after_s=2) from None
        worker.busy = False
        self.stats.jobs += 1
        if reply.max_rss_kb > self.max_rss_kb:
            self.stats.recycled += 1
            log.info("face worker %s reached %d MB: recycled", worker.pid, reply.max_rss_kb // 1024)
            self._retire(worker, kill=False)
        else:
            self._idle.put(worker)
        return reply

    # --- observability ------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        with self._lock:
            workers = list(self._workers)
        return {"workers": len(workers), "alive": sum(w.alive() for w in workers),
                "busy": sum(w.busy for w in workers), "jobs": self.stats.jobs,
                "busy_refusals": self.stats.busy_refusals, "crashes": self.stats.crashes,
                "timeouts": self.stats.timeouts, "recycled": self.stats.recycled}
