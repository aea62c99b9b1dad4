"""Face matching policy: from 1:N candidates and face quality to an access decision.

Plain Python (no numpy, cv2): the hub, the edge terminal and the simulator all decide the same way,
which is why it lives in facecore (devices/ must not import hub/); hub.domain.matching re-exports it.
Distances are euclidean between dlib ResNet encodings (face_recognition, 5-point landmarks).

Why these defaults:
- threshold 0.6: dlib's network was trained to put each identity in a ball of radius 0.6
  (dlib-models README; face_recognition calls it "typical best"). Our probes match at < 0.53.
- Larger galleries need a tighter threshold, because the chance that some impostor falls inside
  the ball grows roughly with N (users report tuning to 0.5 at 1k–10k people): 0.55 from 1,000
  enrolled identities, 0.5 from 10,000, unless the device sets its own threshold.
- unknown_distance 0.7: between threshold and 0.7 the face is neither accepted nor reported as a
  stranger — the person is asked to try again. Without that band a near-miss of an employee
  would be logged as an intruder (Double Take #322). Our unknown test face is > 0.7 from all.
- margin 0.06: if the second-nearest *other* person is within 0.06 of the best, the pair is too
  close to call (look-alikes, a poor template) and the door stays shut.
- min_face_px 40 / min_blur 12: landmark face size and Laplacian sharpness (facecore). Our 240p probe
  (a 44 px face) still matches at < 0.53; below ~40 px the 150 px chip is mostly upscaling, and
  FacePipeline's fast detector (320 px side on a 640×480 frame) finds faces from ≈ 45 px. Sharp
  faces score 35–550 on the blur measure, visibly blurred ones < 10.
- 2 of 3 frames must name the same person (Frigate's "recognised consistently across attempts").
- cooldown 60 s: one approach to a door is one punch, however many frames the camera sends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol


class CandidateLike(Protocol):
    @property
    def employee_id(self) -> str | int: ...
    @property
    def distance(self) -> float: ...


class FaceLike(Protocol):
    @property
    def face_px(self) -> int: ...


class FrameFace(FaceLike, Protocol):
    @property
    def blur(self) -> float: ...
    @property
    def encoding(self) -> Any: ...


ACCEPTED = "accepted"
UNKNOWN = "unknown"
AMBIGUOUS = "ambiguous"
REJECTED_QUALITY = "rejected_quality"


@dataclass(frozen=True)
class MatchPolicy:
    threshold: float = 0.6
    margin: float = 0.06
    unknown_distance: float = 0.7
    min_face_px: int = 40
    min_blur: float = 12.0
    frames_required: int = 2
    frames_window: int = 3
    cooldown_s: float = 60.0
    # (enrolled identities, threshold cap) steps; ignored when the device pins `threshold`.
    large_gallery_steps: tuple[tuple[int, float], ...] = ((1_000, 0.55), (10_000, 0.5))
    threshold_pinned: bool = False
    subject_area_ratio: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 2.0:
            raise ValueError("threshold must be in (0, 2)")
        if self.unknown_distance < self.threshold:
            raise ValueError("unknown_distance must be >= threshold")
        if self.margin < 0 or self.min_face_px < 0 or self.min_blur < 0 or self.cooldown_s < 0:
            raise ValueError("margin, min_face_px, min_blur and cooldown_s must be >= 0")
        if not 1 <= self.frames_required <= self.frames_window:
            raise ValueError("need 1 <= frames_required <= frames_window")
        if self.subject_area_ratio < 1.0:
            raise ValueError("subject_area_ratio must be >= 1")

    def effective_threshold(self, gallery_identities: int | None = None) -> float:
        if self.threshold_pinned or gallery_identities is None:
            return self.threshold
        value = self.threshold
        for size, cap in self.large_gallery_steps:
            if gallery_identities >= size:
                value = min(value, cap)
        return value

    def with_overrides(self, overrides: Mapping[str, object]) -> MatchPolicy:
        """Per-device policy. Unknown keys are refused; a device `threshold` is taken as pinned."""
        allowed = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - allowed)
        if unknown:
            raise ValueError(f"unknown match policy setting(s): {', '.join(unknown)}")
        values = dict(overrides)
        if "threshold" in values:
            values.setdefault("threshold_pinned", True)
            # Keep the uncertain band meaningful when a device raises its threshold past 0.7.
            values.setdefault("unknown_distance", max(self.unknown_distance, float(values["threshold"])))  # type: ignore[arg-type]  # overrides is Mapping[str, object]: a threshold is a float by contract
        return replace(self, **values)  # type: ignore[arg-type]  # replace(**dict) loses the per-field types


def device_policy_overrides(config: Mapping[str, object]) -> dict[str, object]:
    """MatchPolicy overrides from a door terminal's device config: ``face_policy`` plus the
    ``match_threshold`` shortcut (face_policy.threshold wins when both are set). The hub (thin
    requests) and the terminal (edge) read a device's config through this one function."""
    raw = config.get("face_policy") or {}
    if not isinstance(raw, Mapping):
        raise ValueError("face_policy must be a mapping of match policy settings")
    overrides = dict(raw)
    threshold = config.get("match_threshold")
    if threshold is not None and "threshold" not in overrides:
        overrides["threshold"] = threshold
    return overrides


@dataclass(frozen=True)
class Decision:
    outcome: str  # accepted | unknown | ambiguous | rejected_quality
    employee_id: str | int | None
    distance: float | None
    second_distance: float | None
    threshold: float
    reason: str


def decide(
    candidates: Sequence[CandidateLike],
    *,
    face_px: int,
    blur: float,
    policy: MatchPolicy,
    gallery_identities: int | None = None,
) -> Decision:
    """Decide for one face. `candidates` are the nearest distinct identities, nearest first
    (Gallery.search(k=2)); `gallery_identities` tightens the threshold for large galleries."""
    threshold = policy.effective_threshold(gallery_identities)
    if face_px < policy.min_face_px:
        return Decision(
            REJECTED_QUALITY, None, None, None, threshold,
            f"face_too_small: {face_px} px < {policy.min_face_px} px",
        )  # fmt: skip
    if blur < policy.min_blur:
        return Decision(
            REJECTED_QUALITY, None, None, None, threshold, f"too_blurry: {blur:.1f} < {policy.min_blur:.1f}"
        )
    ranked = sorted(candidates, key=lambda c: c.distance)
    if not ranked:
        return Decision(UNKNOWN, None, None, None, threshold, "gallery is empty")
    best = ranked[0]
    second = next((c for c in ranked[1:] if c.employee_id != best.employee_id), None)
    second_d = second.distance if second is not None else None
    unknown_at = max(policy.unknown_distance, threshold)
    if best.distance > unknown_at:
        return Decision(
            UNKNOWN, None, best.distance, second_d, threshold,
            f"nearest person at {best.distance:.3f} > unknown distance {unknown_at:.2f}",
        )  # fmt: skip
    if best.distance > threshold:
        return Decision(
            AMBIGUOUS, None, best.distance, second_d, threshold,
            f"nearest person at {best.distance:.3f} is in the uncertain band "
            f"({threshold:.2f}, {unknown_at:.2f}]",
        )  # fmt: skip
    if second_d is not None and second_d - best.distance < policy.margin:
        return Decision(
            AMBIGUOUS, None, best.distance, second_d, threshold,
            f"two people within margin: {best.distance:.3f} vs {second_d:.3f} (margin {policy.margin:.2f})",
        )  # fmt: skip
    return Decision(
        ACCEPTED, best.employee_id, best.distance, second_d, threshold,
        f"matched at {best.distance:.3f} <= {threshold:.2f}",
    )  # fmt: skip


def enrolment_conflict(
    candidates: Sequence[CandidateLike], *, employee_id: str | int, threshold: float = 0.6
) -> CandidateLike | None:
    """The other employee this face already matches (duplicate enrolment), or None."""
    for candidate in sorted(candidates, key=lambda c: c.distance):
        if candidate.employee_id != employee_id and candidate.distance <= threshold:
            return candidate
    return None


@dataclass(frozen=True)
class SubjectChoice:
    index: int | None  # index into the observations, None when refused
    code: str | None  # None | no_face | face_too_small | multiple_faces
    reason: str


def choose_subject(
    observations: Sequence[FaceLike], *, min_face_px: int = 40, area_ratio: float = 2.0
) -> SubjectChoice:
    """Which face in a frame is the person at the terminal.

    Rule: faces below `min_face_px` are people in the background and are ignored. If one face
    remains, it is the subject. If several remain, the largest decides only when its area
    (face_px²) is at least `area_ratio` × the next one (≈ 1.41× the side for 2.0): the person
    at the door is much closer than a colleague behind. Otherwise two people are at the same
    distance and we refuse with `multiple_faces` rather than punch for the wrong one.
    """
    if not observations:
        return SubjectChoice(None, "no_face", "no face in the frame")
    usable = sorted(
        (i for i, o in enumerate(observations) if o.face_px >= min_face_px),
        key=lambda i: observations[i].face_px,
        reverse=True,
    )
    if not usable:
        largest = max(o.face_px for o in observations)
        return SubjectChoice(None, "face_too_small", f"largest face {largest} px < {min_face_px} px")
    if len(usable) == 1:
        return SubjectChoice(usable[0], None, "one usable face")
    first, second = observations[usable[0]].face_px, observations[usable[1]].face_px
    ratio = (first * first) / max(1, second * second)
    if ratio >= area_ratio:
        return SubjectChoice(usable[0], None, f"largest face dominates ({ratio:.2f}x the next by area)")
    return SubjectChoice(
        None, "multiple_faces", f"{len(usable)} faces of similar size ({ratio:.2f}x < {area_ratio:.2f}x)"
    )


def decide_frame(
    faces: Sequence[FrameFace],
    *,
    search: Callable[[Any], Sequence[CandidateLike]],
    policy: MatchPolicy,
    gallery_identities: int | None = None,
) -> Decision:
    """One frame: pick the subject (choose_subject), search only its encoding, decide.

    A frame without a subject is `rejected_quality` with the reason starting with the code
    (no_face, face_too_small, multiple_faces), so terminals can tell the person what to do.
    """
    choice = choose_subject(faces, min_face_px=policy.min_face_px, area_ratio=policy.subject_area_ratio)
    threshold = policy.effective_threshold(gallery_identities)
    if choice.index is None:
        return Decision(REJECTED_QUALITY, None, None, None, threshold, f"{choice.code}: {choice.reason}")
    face = faces[choice.index]
    if face.encoding is None:  # the pipeline skipped it as too small for its own gate
        return Decision(REJECTED_QUALITY, None, None, None, threshold, "face_too_small: not encoded")
    passes = face.face_px >= policy.min_face_px and face.blur >= policy.min_blur
    return decide(
        search(face.encoding) if passes else (),  # no search for a face the gates refuse
        face_px=face.face_px,
        blur=face.blur,
        policy=policy,
        gallery_identities=gallery_identities,
    )


@dataclass
class FrameVoter:
    """k-of-n agreement over consecutive frames of one camera before a door opens."""

    frames_required: int = 2
    frames_window: int = 3
    _recent: deque[str | int | None] = field(default_factory=deque, init=False, repr=False)

    @classmethod
    def from_policy(cls, policy: MatchPolicy) -> FrameVoter:
        return cls(frames_required=policy.frames_required, frames_window=policy.frames_window)

    def add(self, decision: Decision) -> str | int | None:
        """Feed one frame's decision; returns the employee id once k of the last n frames agree
        (then starts over, so the same approach does not vote twice), else None."""
        self._recent.append(decision.employee_id if decision.outcome == ACCEPTED else None)
        while len(self._recent) > self.frames_window:
            self._recent.popleft()
        who = decision.employee_id if decision.outcome == ACCEPTED else None
        if who is not None and sum(1 for x in self._recent if x == who) >= self.frames_required:
            self._recent.clear()
            return who
        return None

    def reset(self) -> None:
        self._recent.clear()


@dataclass
class Cooldown:
    """One approach = one punch: a person's punch on the same scope (e.g. device) within
    `cooldown_s` seconds of the last recorded one is dropped. Pass any monotonic `now`."""

    cooldown_s: float = 60.0
    _last: dict[tuple[str | int, str], float] = field(default_factory=dict, init=False, repr=False)

    def should_record(self, employee_id: str | int, *, now: float, scope: str = "",
                      cooldown_s: float | None = None) -> bool:
        """``cooldown_s`` overrides the default for this call (a device's own policy at the hub)."""
        window = self.cooldown_s if cooldown_s is None else cooldown_s
        key = (employee_id, scope)
        last = self._last.get(key)
        if last is not None and 0 <= now - last < window:
            return False
        self._last[key] = now
        if len(self._last) > 10_000:  # keep memory bounded on a long-running terminal
            keep = max(self.cooldown_s, window)
            self._last = {k: t for k, t in self._last.items() if now - t < keep}
        return True
