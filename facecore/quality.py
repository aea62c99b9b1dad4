"""Quality gates for enrolment photos and check-in frames.

Sizes are landmark face sizes (FaceObservation.face_px, ≈ 0.8 × the detector box side); blur is
the variance of the Laplacian on the 128 px aligned grey face chip. Measured on the test faces:
full-resolution photos 44–3,900, the same faces in 640×480 frames 18–540; a 230 px face blurred
with a Gaussian of σ 3 scores 16 and of σ 6 scores 6; a 90 px face with σ 1.5 scores 10.
"""

from __future__ import annotations

from collections.abc import Sequence

from facecore.pipeline import FaceObservation

# Enrolment templates are used for every later match, so they must be better than check-in frames:
# ≈ 100 px detector box (what attendance vendors ask for) and clearly sharp.
ENROL_MIN_FACE_PX = 80
ENROL_MIN_BLUR = 20.0


class EnrolmentRejected(ValueError):
    """code: no_face | multiple_faces | face_too_small | too_blurry."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def quality_problem(observation: FaceObservation, *, min_face_px: int, min_blur: float) -> str | None:
    """The first failing gate as a reason code (face_too_small, too_blurry), or None."""
    if observation.face_px < min_face_px:
        return "face_too_small"
    if observation.blur < min_blur:
        return "too_blurry"
    return None


def check_enrolment(
    observations: Sequence[FaceObservation],
    *,
    min_face_px: int = ENROL_MIN_FACE_PX,
    min_blur: float = ENROL_MIN_BLUR,
) -> FaceObservation:
    """The one usable face of an enrolment photo, or EnrolmentRejected.

    Exactly one face, counting every detected face: a second person in an enrolment photo is a
    mistake worth fixing, even in the background, because the wrong face could be enrolled.
    """
    if not observations:
        raise EnrolmentRejected("no_face", "no face found in the photo")
    if len(observations) > 1:
        raise EnrolmentRejected(
            "multiple_faces", f"{len(observations)} faces found; enrol one person per photo"
        )
    face = observations[0]
    problem = quality_problem(face, min_face_px=min_face_px, min_blur=min_blur)
    if problem == "face_too_small":
        raise EnrolmentRejected(
            "face_too_small", f"face is {face.face_px} px, at least {min_face_px} px is needed"
        )
    if problem == "too_blurry":
        raise EnrolmentRejected("too_blurry", f"sharpness {face.blur:.1f} is below {min_blur:.1f}")
    if face.encoding is None:  # only when the pipeline's own min_face_px is above ours
        raise EnrolmentRejected("face_too_small", "face was too small for the pipeline to encode")
    return face
