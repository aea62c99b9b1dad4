"""Live event stream over Server-Sent Events (device online/offline, events, commands, alerts)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, Request
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from hub.api.deps import RuntimeDep, StreamUser, authenticate, stream_token
from hub.auth.tokens import Role

router = APIRouter(prefix="/api/v1", tags=["stream"])

# Employees only see their own things elsewhere; the live feed is for operators and admins.
EMPLOYEE_KINDS = frozenset({"hello"})
# A stream outlives the request check: its token is checked again (revoked? user disabled?) before
# a message goes out, at most this often.
RECHECK_S = 30.0


@router.get("/stream")
async def stream(user: StreamUser, rt: RuntimeDep, request: Request) -> EventSourceResponse:
    token = stream_token(request)

    async def gen() -> AsyncIterator[dict[str, str]]:
        yield {"event": "hello", "data": '{"kind": "hello"}'}
        checked = time.monotonic()
        async for msg in rt.live.subscribe():
            if await request.is_disconnected():
                break
            if time.monotonic() - checked >= RECHECK_S:
                checked = time.monotonic()
                try:
                    await run_in_threadpool(authenticate, rt, request, token)
                except HTTPException:
                    break  # the client reconnects, and its token is refused then
            if user.role == Role.EMPLOYEE and msg.kind not in EMPLOYEE_KINDS:
                continue
            yield msg.sse()

    return EventSourceResponse(gen(), ping=15)
