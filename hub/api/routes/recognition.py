"""Recognition for integrators: 1:N identify and 1:1 verify on uploaded images.

Plain ``def`` routes: FastAPI runs them in its threadpool, so ~100 ms of dlib work per face never
blocks the event loop (the face engine serialises the dlib calls themselves)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, HTTPException, UploadFile

from facecore.images import ImageError, decode_image
from hub.api.deps import OperatorUser, RuntimeDep
from hub.api.routes.employees import face_service
from hub.api.schemas.people import IdentifyResponse, VerifyResponse
from hub.services.face.recognition import NoUsableFace

router = APIRouter(prefix="/api/v1/recognition", tags=["recognition"])

MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000


def _read(upload: UploadFile, name: str) -> np.ndarray:
    data = upload.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise HTTPException(413, f"{name}: too_large: more than {MAX_BYTES} bytes")
    try:
        return decode_image(data, max_pixels=MAX_PIXELS)
    except ImageError as exc:
        raise HTTPException(413 if exc.reason_code == "too_many_pixels" else 422,
                            f"{name}: {exc.reason_code}: {exc.message}") from exc


@router.post("/identify", response_model=IdentifyResponse)
def identify(_: OperatorUser, rt: RuntimeDep, file: Annotated[UploadFile, File()]) -> IdentifyResponse:
    face = face_service(rt)
    result = face.recognizer.identify(_read(file, "file"))
    d = result.decision
    return IdentifyResponse(employee_id=int(d.employee_id) if d.employee_id is not None else None,
                            distance=d.distance, decision=d.outcome, threshold=d.threshold, reason=d.reason,
                            faces=result.faces)


@router.post("/verify", response_model=VerifyResponse)
def verify(_: OperatorUser, rt: RuntimeDep, file1: Annotated[UploadFile, File()],
           file2: Annotated[UploadFile, File()]) -> VerifyResponse:
    face = face_service(rt)
    a, b = _read(file1, "file1"), _read(file2, "file2")
    try:
        same, distance, threshold = face.recognizer.verify(a, b)
    except NoUsableFace as exc:
        raise HTTPException(422, str(exc)) from exc
    return VerifyResponse(same=same, distance=distance, threshold=threshold)
