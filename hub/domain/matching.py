"""Face matching policy (the rules live in ``facecore.policy`` so edge terminals, which must not
import the hub, decide exactly as the hub does). Re-exported here as the hub's domain API."""

from facecore.policy import (
    ACCEPTED,
    AMBIGUOUS,
    REJECTED_QUALITY,
    UNKNOWN,
    CandidateLike,
    Cooldown,
    Decision,
    FaceLike,
    FrameFace,
    FrameVoter,
    MatchPolicy,
    SubjectChoice,
    choose_subject,
    decide,
    decide_frame,
    device_policy_overrides,
    enrolment_conflict,
)

__all__ = [
    "ACCEPTED", "AMBIGUOUS", "REJECTED_QUALITY", "UNKNOWN", "CandidateLike", "Cooldown", "Decision",
    "FaceLike", "FrameFace", "FrameVoter", "MatchPolicy", "SubjectChoice", "choose_subject", "decide",
    "decide_frame", "device_policy_overrides", "enrolment_conflict",
]
