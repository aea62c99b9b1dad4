"""The face stack with the real dlib models and the test faces in ../shared/datasets/faces."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from devices.door_terminal.face_crop import FaceCropper
from facecore.gallery import Gallery
from facecore.images import ImageError, decode_image, letterbox, load_image_file
from facecore.pipeline import FaceObservation, FacePipeline, naive_analyze
from facecore.quality import EnrolmentRejected, check_enrolment
from hub.domain.matching import (
    ACCEPTED,
    REJECTED_QUALITY,
    UNKNOWN,
    MatchPolicy,
    decide_frame,
    enrolment_conflict,
)

FACES = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "faces"
if not FACES.is_dir():
    FACES = Path("/work/shared/datasets/faces")
POLICY = MatchPolicy()


def _images(folder: str) -> list[Path]:
    return sorted(p for p in (FACES / folder).rglob("*") if p.suffix in {".jpg", ".png"})


@pytest.fixture(scope="module")
def pipeline() -> FacePipeline:
    return FacePipeline()


@pytest.fixture(scope="module")
def gallery(pipeline: FacePipeline) -> Gallery:
    gallery = Gallery()
    for path in _images("enroll"):
        face = check_enrolment(pipeline.analyze(load_image_file(path)))
        assert face.encoding is not None
        gallery.add(template_id=path.stem, employee_id=path.parent.name, encoding=face.encoding)
    return gallery


def _decide(observations: list[FaceObservation], gallery: Gallery) -> tuple[str, object, str]:
    decision = decide_frame(observations, search=gallery.search, policy=POLICY)
    return decision.outcome, decision.employee_id, decision.reason


def _jpeg(rgb: np.ndarray, **save: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=92, **save)
    return buf.getvalue()


def test_enrolment_builds_one_template_per_photo(gallery: Gallery) -> None:
    assert len(gallery) == len(_images("enroll")) == 6
    assert gallery.employee_ids() == {p.name for p in (FACES / "enroll").iterdir()}


@pytest.mark.parametrize("path", _images("probe"), ids=lambda p: p.name)
def test_every_probe_matches_its_person(pipeline: FacePipeline, gallery: Gallery, path: Path) -> None:
    outcome, who, reason = _decide(pipeline.analyze(load_image_file(path)), gallery)
    assert (outcome, who) == (ACCEPTED, path.parent.name), reason


def test_unknown_person_is_refused(pipeline: FacePipeline, gallery: Gallery) -> None:
    for path in _images("unknown"):
        observations = pipeline.analyze(load_image_file(path))
        decision = decide_frame(observations, search=gallery.search, policy=POLICY)
        assert decision.outcome == UNKNOWN and decision.employee_id is None
        assert decision.distance is not None and decision.distance > 0.7


@pytest.mark.parametrize("path", _images("multi"), ids=lambda p: p.name)
def test_group_photos_of_similar_faces_are_refused(
    pipeline: FacePipeline, gallery: Gallery, path: Path
) -> None:
    observations = pipeline.analyze(load_image_file(path))
    assert len(observations) >= 2
    outcome, who, reason = _decide(observations, gallery)
    assert (outcome, who) == (REJECTED_QUALITY, None)
    assert reason.startswith("multiple_faces")


def test_group_frame_with_a_dominant_face_decides_for_it(pipeline: FacePipeline, gallery: Gallery) -> None:
    # A 640×480 door camera: obama close (face ≈ 125 px), biden behind him (≈ 65 px).
    frame = letterbox(load_image_file(FACES / "probe/obama/obama_b.jpg"))
    frame[-220:, :220] = cv2.resize(load_image_file(FACES / "probe/biden/biden_a.jpg"), (220, 220))
    observations = pipeline.analyze(frame)
    assert sorted(o.face_px > 100 for o in observations) == [False, True]
    assert _decide(observations, gallery)[:2] == (ACCEPTED, "obama")


def _frames() -> list[tuple[str, np.ndarray]]:
    return [(str(p.relative_to(FACES)), letterbox(load_image_file(p))) for p in _images(".")]


def test_fast_and_naive_pipelines_decide_the_same_on_640x480_frames(
    pipeline: FacePipeline, gallery: Gallery
) -> None:
    decided = 0
    for name, frame in _frames():
        fast, naive = pipeline.analyze(frame), naive_analyze(frame)
        assert _decide(fast, gallery)[:2] == _decide(naive, gallery)[:2], name
        decided += _decide(fast, gallery)[0] == ACCEPTED
        usable = [o for o in naive if o.face_px >= POLICY.min_face_px]
        assert len(usable) == len(fast), name
        for a, b in zip(
            sorted(usable, key=lambda o: o.box[3]), sorted(fast, key=lambda o: o.box[3]), strict=True
        ):
            assert a.encoding is not None and b.encoding is not None
            assert float(np.linalg.norm(a.encoding - b.encoding)) < 0.15, name
            assert abs(a.face_px - b.face_px) <= 3, name
    assert decided >= 12  # most frames carry a usable, known face


def test_exif_orientation_is_applied(pipeline: FacePipeline, gallery: Gallery) -> None:
    upright = load_image_file(FACES / "probe/kit_harington/kit_harington_a.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the sensor data is stored turned left
    data = _jpeg(np.ascontiguousarray(np.rot90(upright, 1)), exif=exif.tobytes())
    decoded = decode_image(data)
    assert decoded.shape == upright.shape
    assert _decide(pipeline.analyze(decoded), gallery)[:2] == (ACCEPTED, "kit_harington")


def test_bad_uploads_are_refused_with_a_reason() -> None:
    good = (FACES / "enroll/biden/biden_1.jpg").read_bytes()
    cases = {
        "empty": b"",
        "not_an_image": b"name,punch\nalice,09:00\n",
        "corrupt_image": good[: len(good) // 2],
    }
    bomb = io.BytesIO()
    Image.new("L", (10_000, 5_000)).save(bomb, "PNG")  # 50 MP of zeros: ≈ 60 kB on disk
    cases["too_many_pixels"] = bomb.getvalue()
    wide = io.BytesIO()
    Image.new("I;16", (64, 64)).save(wide, "PNG")
    cases["unsupported_mode"] = wide.getvalue()
    for code, data in cases.items():
        with pytest.raises(ImageError) as info:
            decode_image(data)
        assert info.value.reason_code == code
    with pytest.raises(ImageError) as info:
        decode_image(good, max_pixels=1_000_000)
    assert info.value.reason_code == "too_many_pixels"


def test_enrolment_rejects_bad_photos(pipeline: FacePipeline) -> None:
    def code_for(rgb: np.ndarray) -> str:
        with pytest.raises(EnrolmentRejected) as info:
            check_enrolment(pipeline.analyze(rgb))
        return info.value.code

    photo = load_image_file(FACES / "enroll/obama/obama_1.jpg")
    assert code_for(np.full((480, 640, 3), 127, np.uint8)) == "no_face"
    assert code_for(load_image_file(FACES / "multi/two_people.jpg")) == "multiple_faces"
    assert code_for(cv2.resize(photo, (photo.shape[1] // 4, photo.shape[0] // 4))) == "face_too_small"
    assert code_for(cv2.GaussianBlur(photo, (0, 0), 6)) == "too_blurry"
    assert check_enrolment(pipeline.analyze(photo)).face_px >= 80


def test_enrolment_detects_a_face_enrolled_as_someone_else(pipeline: FacePipeline, gallery: Gallery) -> None:
    face = check_enrolment(pipeline.analyze(load_image_file(FACES / "probe/obama/obama_a.jpg")))
    assert face.encoding is not None
    conflict = enrolment_conflict(gallery.search(face.encoding), employee_id="biden")
    assert conflict is not None and conflict.employee_id == "obama"
    assert enrolment_conflict(gallery.search(face.encoding), employee_id="obama") is None


def test_thin_terminal_crop_decides_like_the_whole_frame(pipeline: FacePipeline, gallery: Gallery) -> None:
    """A thin terminal sends the hub a crop around the faces it finds; the hub's decision on the crop
    must be the decision it would take on the whole frame (group photos stay groups)."""
    cropper = FaceCropper()
    dominant = letterbox(load_image_file(FACES / "probe/obama/obama_b.jpg"))
    dominant[-220:, :220] = cv2.resize(load_image_file(FACES / "probe/biden/biden_a.jpg"), (220, 220))
    frames = [(str(p.relative_to(FACES)), load_image_file(p)) for p in _images(".")]
    frames += [(f"{name} (640x480)", frame) for name, frame in _frames()] + [("obama+biden behind", dominant)]
    smaller = 0
    for name, frame in frames:
        crop, found = cropper.crop(frame)
        assert _decide(pipeline.analyze(crop), gallery)[:2] == _decide(pipeline.analyze(frame), gallery)[:2], name
        assert crop.shape[0] <= frame.shape[0] and crop.shape[1] <= frame.shape[1], name
        if found:
            smaller += crop.size < frame.size
        else:
            assert crop is frame, name  # nothing found at the terminal: the hub gets everything
    assert smaller >= len(frames) * 2 // 3
