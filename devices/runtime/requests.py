"""Device -> hub requests matched to responses by ``transaction`` (MQTT 3.1.1-safe)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from pydantic import ValidationError

from protocol.payloads import Request, Response, new_id

log = logging.getLogger(__name__)


class RequestTimeout(TimeoutError):
    def __init__(self, *, action: str, transaction: str, timeout: float) -> None:
        super().__init__(f"no response to request {action!r} (transaction {transaction}) "
                         f"within {timeout:g}s; is the hub running and the device connected?")
        self.action = action
        self.transaction = transaction
        self.timeout = timeout


class RequestBroker:
    def __init__(self, *, publish: Callable[[str, bytes], None]) -> None:
        """``publish(action, payload)`` sends on ``req/{action}``."""
        self._publish = publish
        self._pending: dict[str, Future[Response]] = {}
        self._lock = threading.Lock()

    def request(self, action: str, data: dict[str, object], *, timeout: float) -> Response:
        tx = new_id()
        fut: Future[Response] = Future()
        with self._lock:
            self._pending[tx] = fut
        try:
            self._publish(action, Request(transaction=tx, data=data).to_bytes())
            return fut.result(timeout)
        except FutureTimeout:
            raise RequestTimeout(action=action, transaction=tx, timeout=timeout) from None
        finally:
            with self._lock:
                self._pending.pop(tx, None)

    def on_response(self, payload: bytes) -> None:
        try:
            res = Response.model_validate_json(payload)
        except ValidationError as exc:
            log.warning("dropping malformed response: %s", exc.errors(include_url=False)[:3])
            return
        with self._lock:
            fut = self._pending.pop(res.transaction, None)
        if fut is None:
            log.debug("response for unknown or finished transaction %s", res.transaction)
            return
        fut.set_result(res)

    def fail_all(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(RuntimeError("the agent stopped before the response arrived"))
