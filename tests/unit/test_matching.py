"""Matching policy: decisions, subject choice, frame voting, cooldown, per-device overrides."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hub.domain.matching import (
    ACCEPTED,
    AMBIGUOUS,
    REJECTED_QUALITY,
    UNKNOWN,
    Cooldown,
    Decision,
    FrameVoter,
    MatchPolicy,
    choose_subject,
    decide,
    decide_frame,
    device_policy_overrides,
    enrolment_conflict,
)


@dataclass(frozen=True)
class C:
    employee_id: str
    distance: float


@dataclass(frozen=True)
class Face:
    face_px: int


POLICY = MatchPolicy()


@pytest.mark.parametrize(
    ("candidates", "face_px", "blur", "outcome", "who", "reason_start"),
    [
        ([C("a", 0.40), C("b", 0.80)], 100, 50.0, ACCEPTED, "a", "matched"),
        ([C("a", 0.60), C("b", 0.80)], 100, 50.0, ACCEPTED, "a", "matched"),  # threshold inclusive
        (
            [C("a", 0.65), C("b", 0.90)],
            100,
            50.0,
            AMBIGUOUS,
            None,
            "nearest person at 0.650 is in the uncertain",
        ),
        ([C("a", 0.70), C("b", 0.90)], 100, 50.0, AMBIGUOUS, None, "nearest"),
        ([C("a", 0.71), C("b", 0.90)], 100, 50.0, UNKNOWN, None, "nearest person at 0.710 > unknown"),
        ([C("a", 0.45), C("b", 0.50)], 100, 50.0, AMBIGUOUS, None, "two people within margin"),
        ([C("a", 0.45), C("b", 0.52)], 100, 50.0, ACCEPTED, "a", "matched"),
        ([C("a", 0.45)], 100, 50.0, ACCEPTED, "a", "matched"),
        ([C("b", 0.52), C("a", 0.45)], 100, 50.0, ACCEPTED, "a", "matched"),  # unsorted input
        ([], 100, 50.0, UNKNOWN, None, "gallery is empty"),
        ([C("a", 0.30)], 39, 50.0, REJECTED_QUALITY, None, "face_too_small"),
        ([C("a", 0.30)], 40, 11.9, REJECTED_QUALITY, None, "too_blurry"),
    ],
)
def test_decide_table(
    candidates: list[C], face_px: int, blur: float, outcome: str, who: str | None, reason_start: str
) -> None:
    decision = decide(candidates, face_px=face_px, blur=blur, policy=POLICY)
    assert (decision.outcome, decision.employee_id) == (outcome, who)
    assert decision.reason.startswith(reason_start)
    assert decision.threshold == 0.6


def test_decide_reports_distances() -> None:
    decision = decide([C("a", 0.4), C("b", 0.9)], face_px=100, blur=50, policy=POLICY)
    assert (decision.distance, decision.second_distance) == (0.4, 0.9)


@pytest.mark.parametrize(
    ("identities", "threshold"),
    [(None, 0.6), (10, 0.6), (999, 0.6), (1_000, 0.55), (10_000, 0.5), (50_000, 0.5)],
)
def test_large_gallery_tightens_threshold(identities: int | None, threshold: float) -> None:
    assert POLICY.effective_threshold(identities) == threshold
    decision = decide([C("a", 0.58)], face_px=100, blur=50, policy=POLICY, gallery_identities=identities)
    assert decision.outcome == (ACCEPTED if threshold >= 0.58 else AMBIGUOUS)


def test_device_override_pins_threshold() -> None:
    device = POLICY.with_overrides({"threshold": 0.5, "cooldown_s": 10})
    assert device.threshold_pinned and device.cooldown_s == 10
    assert device.effective_threshold(50_000) == 0.5
    assert decide([C("a", 0.52)], face_px=100, blur=50, policy=device).outcome == AMBIGUOUS
    loose = POLICY.with_overrides({"threshold": 0.75})
    assert loose.unknown_distance == 0.75  # band never inverted
    assert decide([C("a", 0.72)], face_px=100, blur=50, policy=loose).outcome == ACCEPTED


@pytest.mark.parametrize(
    "overrides",
    [
        {"treshold": 0.5},
        {"threshold": 0.0},
        {"frames_required": 4},
        {"margin": -1},
        {"unknown_distance": 0.5},
    ],
)
def test_bad_overrides_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        POLICY.with_overrides(overrides)


def test_enrolment_conflict() -> None:
    assert enrolment_conflict([C("me", 0.2), C("other", 0.7)], employee_id="me") is None
    hit = enrolment_conflict([C("me", 0.2), C("other", 0.5)], employee_id="me")
    assert hit is not None and hit.employee_id == "other"


@pytest.mark.parametrize(
    ("sizes", "index", "code"),
    [
        ([], None, "no_face"),
        ([40], None, "face_too_small"),
        ([40, 59], None, "face_too_small"),
        ([120], 0, None),
        ([30, 120, 50], 1, None),  # small faces in the background are ignored
        ([100, 150], 1, None),  # 150² / 100² = 2.25 ≥ 2: the near face decides
        ([120, 150], None, "multiple_faces"),  # 1.56 < 2: two people side by side
        ([100, 100, 100], None, "multiple_faces"),
        ([142, 100], 0, None),  # 142² / 100² = 2.0164: just dominant
        ([141, 100], None, "multiple_faces"),  # 1.9881: just not
    ],
)
def test_choose_subject(sizes: list[int], index: int | None, code: str | None) -> None:
    choice = choose_subject([Face(s) for s in sizes], min_face_px=60, area_ratio=2.0)
    assert (choice.index, choice.code) == (index, code)
    assert choice.reason


def _accepted(who: str) -> Decision:
    return Decision(ACCEPTED, who, 0.4, None, 0.6, "matched")


def _unknown() -> Decision:
    return Decision(UNKNOWN, None, 0.8, None, 0.6, "unknown")


def test_frame_voter_two_of_three() -> None:
    voter = FrameVoter.from_policy(POLICY)
    assert voter.add(_accepted("a")) is None
    assert voter.add(_unknown()) is None
    assert voter.add(_accepted("a")) == "a"
    # Starts over after a vote: the next single frame does not re-open.
    assert voter.add(_accepted("a")) is None


def test_frame_voter_needs_same_identity_within_window() -> None:
    voter = FrameVoter(frames_required=2, frames_window=3)
    assert [voter.add(d) for d in (_accepted("a"), _accepted("b"), _unknown(), _accepted("a"))] == [None] * 4
    assert voter.add(_accepted("a")) == "a"
    voter.reset()
    assert voter.add(_accepted("a")) is None


def test_frame_voter_single_frame_policy() -> None:
    voter = FrameVoter(frames_required=1, frames_window=1)
    assert voter.add(_accepted("x")) == "x"
    assert voter.add(_unknown()) is None


def test_cooldown_one_approach_one_punch() -> None:
    cooldown = Cooldown(cooldown_s=60)
    assert cooldown.should_record("a", now=1000.0)
    assert not cooldown.should_record("a", now=1030.0)
    assert cooldown.should_record("b", now=1030.0)
    assert cooldown.should_record("a", now=1000.0, scope="door-2")  # another door is another approach
    assert cooldown.should_record("a", now=1060.0)
    assert not cooldown.should_record("a", now=1119.9)


@dataclass(frozen=True)
class FrameFaceFake:
    face_px: int
    blur: float
    encoding: str | None


def test_decide_frame_searches_only_the_subject() -> None:
    searched: list[object] = []

    def search(encoding: object) -> list[C]:
        searched.append(encoding)
        return [C("a", 0.3)] if encoding == "near" else [C("b", 0.8)]

    faces = [FrameFaceFake(30, 50.0, "far"), FrameFaceFake(150, 50.0, "near")]
    decision = decide_frame(faces, search=search, policy=POLICY)
    assert (decision.outcome, decision.employee_id, searched) == (ACCEPTED, "a", ["near"])

    side_by_side = [FrameFaceFake(140, 50.0, "far"), FrameFaceFake(150, 50.0, "near")]
    refused = decide_frame(side_by_side, search=search, policy=POLICY)
    assert refused.outcome == REJECTED_QUALITY and refused.reason.startswith("multiple_faces")
    assert decide_frame([], search=search, policy=POLICY).reason.startswith("no_face")
    blurry = decide_frame([FrameFaceFake(150, 3.0, "near")], search=search, policy=POLICY)
    assert blurry.reason.startswith("too_blurry")
    not_encoded = decide_frame([FrameFaceFake(150, 50.0, None)], search=search, policy=POLICY)
    assert not_encoded.reason.startswith("face_too_small")
    assert searched == ["near"]


def test_device_config_overrides_take_match_threshold_unless_face_policy_sets_it() -> None:
    assert device_policy_overrides({"match_threshold": 0.42, "door_unlock_s": 5}) == {"threshold": 0.42}
    both = {"match_threshold": 0.42, "face_policy": {"threshold": 0.5, "margin": 0.1}}
    assert device_policy_overrides(both) == {"threshold": 0.5, "margin": 0.1}
    assert device_policy_overrides({"match_threshold": None, "face_policy": {}}) == {}
    assert MatchPolicy().with_overrides(device_policy_overrides({"match_threshold": 0.42})).threshold_pinned
    with pytest.raises(ValueError, match="mapping"):
        device_policy_overrides({"face_policy": [0.5]})


def test_cooldown_window_can_be_set_per_call() -> None:
    """The hub keeps one cooldown for all thin terminals; each may set its own window."""
    cd = Cooldown(cooldown_s=60)
    assert cd.should_record("e1", now=0.0, scope="lobby", cooldown_s=5)
    assert not cd.should_record("e1", now=4.0, scope="lobby", cooldown_s=5)
    assert cd.should_record("e1", now=6.0, scope="lobby", cooldown_s=5)
    assert not cd.should_record("e1", now=30.0, scope="lobby")  # the default 60 s window
