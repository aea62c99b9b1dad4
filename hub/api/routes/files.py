"""``/api/v1/files/print/{job_id}``: a job's document for its print box (signed, expiring URL; no token)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from hub.api.deps import RuntimeDep
from hub.auth.tokens import check_signed_path
from hub.services.printing.jobs import FILES_PATH
from hub.services.printing.setup import PRINT

router = APIRouter(tags=["print"])


@router.get(FILES_PATH + "{job_id}", include_in_schema=False)
def download(job_id: str, request: Request, rt: RuntimeDep, expires: int = 0, sig: str = "") -> FileResponse:
    check_signed_path(FILES_PATH + job_id, secret=rt.settings.secret(), expires=expires, sig=sig)
    feature = rt.services.find(PRINT)
    job = feature.jobs.get(job_id) if feature else None
    path = feature.jobs.file_path(job) if feature and job else None
    if path is None:
        raise HTTPException(404, "the document is no longer available")
    # FileResponse streams from disk in chunks; a 100 MB PDF never sits in memory.
    return FileResponse(path, media_type="application/pdf", filename=f"{job_id}.pdf")
