"""Live event stream over Server-Sent Events (device online/offline, events, commands, alerts)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse

from hub.api.deps import RuntimeDep, StreamUser
from hub.auth.tokens import Role

router = APIRouter(prefix="/api/v1", tags=["stream"])

# Employees only see their own things elsewhere; the live feed is for operators and admins.
EMPLOYEE_KINDS = frozenset({"hello"})


@router.get("/stream")
async def stream(user: StreamUser, rt: RuntimeDep, request: Request) -> EventSourceResponse:
    async def gen() -> AsyncIterator[dict[str, str]]:
        yield {"event": "hello", "data": '{"kind": "hello"}'}
        async for msg in rt.live.subscribe():
            if await request.is_disconnected():
                break
            if user.role == Role.EMPLOYEE and msg.kind not in EMPLOYEE_KINDS:
                continue
            yield msg.sse()

    return EventSourceResponse(gen(), ping=15)
