"""Recognition for integrators: 1:N identify and 1:1 verify on uploaded images.

Plain ``def`` routes: FastAPI runs them in its threadpool while the face worker pool does the
decoding and dlib work (~100 ms per face) in its own processes; a busy engine or a worker that died
answers 503 with Retry-After (the app's ServiceError handler)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, HTTPException, UploadFile

from facecore.images import DEFAULT_MAX_PIXELS, ImageError
from hub.api.deps import FaceDep, OperatorUser
from hub.api.schemas.people import IdentifyResponse, VerifyResponse
from hub.services.face.recognition import Identification, NoUsableFace, Recognizer
from hub.services.face.service import FaceService

router = APIRouter(prefix="/api/v1/recognition", tags=["recognition"])

MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = DEFAULT_MAX_PIXELS


def _read(upload: UploadFile, name: str) -> bytes:
    data = upload.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise HTTPException(413, f"{name}: too_large: more than {MAX_BYTES} bytes")
    return data


def _image_refused(exc: ImageError, name: str) -> HTTPException:
    return HTTPException(413 if exc.reason_code == "too_many_pixels" else 422,
                         f"{name}: {exc.reason_code}: {exc.message}")


def _identify(recognizer: Recognizer, data: bytes, name: str) -> Identification:
    try:
        return recognizer.identify(data, max_pixels=MAX_PIXELS)
    except ImageError as exc:
        raise _image_refused(exc, name) from exc


def _subject_encoding(face: FaceService, data: bytes, name: str) -> np.ndarray:
    try:
        subject = face.recognizer.subject(data, max_pixels=MAX_PIXELS)
    except ImageError as exc:
        raise _image_refused(exc, name) from exc
    except NoUsableFace as exc:
        raise HTTPException(422, f"{name}: {exc}") from exc
    assert subject.encoding is not None
    return subject.encoding


@router.post("/identify", response_model=IdentifyResponse)
def identify(_: OperatorUser, face: FaceDep, file: Annotated[UploadFile, File()]) -> IdentifyResponse:
    result = _identify(face.recognizer, _read(file, "file"), "file")
    d = result.decision
    return IdentifyResponse(employee_id=int(d.employee_id) if d.employee_id is not None else None,
                            distance=d.distance, decision=d.outcome, threshold=d.threshold, reason=d.reason,
                            faces=result.faces)


@router.post("/verify", response_model=VerifyResponse)
def verify(_: OperatorUser, face: FaceDep, file1: Annotated[UploadFile, File()],
           file2: Annotated[UploadFile, File()]) -> VerifyResponse:
    a = _subject_encoding(face, _read(file1, "file1"), "file1")
    b = _subject_encoding(face, _read(file2, "file2"), "file2")
    same, distance, threshold = face.recognizer.compare(a, b)
    return VerifyResponse(same=same, distance=distance, threshold=threshold)
