"""The print-job state machine: every (state, event) pair, table-driven."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from hub.domain.print_jobs import (
    REPORT_EVENTS,
    TERMINAL,
    InvalidTransition,
    JobEvent,
    JobSnapshot,
    JobState,
    apply,
    event_for_cups,
    hold_expired,
    hold_expires_at,
    printer_fault,
    retry_delay,
    should_retry,
    state_for_cups,
)
from protocol.cups_states import CUPS_TO_REPORT

S, E = JobState, JobEvent
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Legal moves that record history.
LEGAL = {
    (S.PENDING, E.HOLD): S.HELD,
    (S.PENDING, E.OFFER): S.QUEUED,
    (S.PENDING, E.CANCEL): S.CANCELED,
    (S.PENDING, E.FAILED): S.FAILED,
    (S.HELD, E.RELEASE): S.QUEUED,
    (S.HELD, E.EXPIRE): S.EXPIRED,
    (S.HELD, E.CANCEL): S.CANCELED,
    (S.QUEUED, E.OFFER): S.QUEUED,
    (S.QUEUED, E.REQUEUE): S.PENDING,
    (S.QUEUED, E.SENT): S.SENT,
    (S.QUEUED, E.PRINTING): S.PRINTING,
    (S.QUEUED, E.COMPLETED): S.COMPLETED,
    (S.QUEUED, E.FAILED): S.FAILED,
    (S.QUEUED, E.CANCEL): S.CANCELED,
    (S.SENT, E.REQUEUE): S.PENDING,
    (S.SENT, E.PRINTING): S.PRINTING,
    (S.SENT, E.COMPLETED): S.COMPLETED,
    (S.SENT, E.FAILED): S.FAILED,
    (S.SENT, E.CANCEL): S.CANCELED,
    (S.PRINTING, E.COMPLETED): S.COMPLETED,
    (S.PRINTING, E.FAILED): S.FAILED,
    (S.PRINTING, E.CANCEL): S.CANCELED,
    (S.CANCELED, E.COMPLETED): S.COMPLETED,
}
# Duplicate or stale reports: accepted, nothing recorded, state unchanged.
NOOP = {
    (S.SENT, E.SENT), (S.PRINTING, E.PRINTING), (S.PRINTING, E.SENT),
    (S.COMPLETED, E.COMPLETED), (S.FAILED, E.FAILED), (S.CANCELED, E.CANCEL), (S.EXPIRED, E.EXPIRE),
}
ALL_PAIRS = list(itertools.product(JobState, JobEvent))
ILLEGAL = [p for p in ALL_PAIRS if p not in LEGAL and p not in NOOP]


def snap(state: JobState) -> JobSnapshot:
    return JobSnapshot(job_id="job-1", state=state, held_at=AT if state is S.HELD else None)


@pytest.mark.parametrize(("state", "event"), sorted(LEGAL), ids=lambda v: str(v))
def test_legal_transitions_record_history(state: JobState, event: JobEvent) -> None:
    new_state, entry = apply(snap(state), event, at=AT, reason="because", details={"k": 1})
    assert new_state is LEGAL[(state, event)]
    assert entry is not None
    assert (entry.job_id, entry.from_state, entry.to_state, entry.event) == ("job-1", state, new_state, event)
    assert entry.at == AT and entry.reason == "because" and entry.details == {"k": 1}


@pytest.mark.parametrize(("state", "event"), sorted(NOOP), ids=lambda v: str(v))
def test_duplicate_and_stale_reports_are_noops(state: JobState, event: JobEvent) -> None:
    assert apply(snap(state), event, at=AT) == (state, None)


@pytest.mark.parametrize(("state", "event"), ILLEGAL, ids=lambda v: str(v))
def test_illegal_transitions_raise_with_a_clear_message(state: JobState, event: JobEvent) -> None:
    with pytest.raises(InvalidTransition) as info:
        apply(snap(state), event, at=AT)
    msg = str(info.value)
    assert "job-1" in msg and state.value in msg and event.value in msg
    assert info.value.state is state and info.value.event is event


def test_every_pair_is_classified() -> None:
    assert len(LEGAL) + len(NOOP) + len(ILLEGAL) == len(ALL_PAIRS)
    assert ILLEGAL, "some moves must be forbidden"


def test_terminal_states_only_leave_for_late_completion() -> None:
    for state in TERMINAL:
        exits = {e for e in JobEvent if (state, e) in LEGAL}
        assert exits == ({E.COMPLETED} if state is S.CANCELED else set())


def test_happy_path_through_secure_release() -> None:
    job = snap(S.PENDING)
    history = []
    for event in (E.HOLD, E.RELEASE, E.SENT, E.PRINTING, E.PRINTING, E.COMPLETED, E.COMPLETED):
        state, entry = apply(job, event, at=AT)
        job = JobSnapshot(job.job_id, state)
        if entry:
            history.append(entry.to_state)
    assert history == [S.HELD, S.QUEUED, S.SENT, S.PRINTING, S.COMPLETED]


@pytest.mark.parametrize(("cups", "state"), [
    ("pending", S.SENT), ("held", S.SENT), ("processing", S.PRINTING), ("stopped", S.PRINTING),
    ("canceled", S.CANCELED), ("aborted", S.FAILED), ("completed", S.COMPLETED)])
def test_cups_states_map_to_ours(cups: str, state: JobState) -> None:
    assert state_for_cups(cups) is state
    assert event_for_cups(cups) is REPORT_EVENTS[CUPS_TO_REPORT[cups]]


def test_unknown_cups_state_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown CUPS job state"):
        state_for_cups("exploded")


def test_hold_expiry_default_is_eight_hours() -> None:
    held = JobSnapshot("j", S.HELD, held_at=AT)
    assert hold_expires_at(AT) == AT + timedelta(hours=8)
    assert not hold_expired(held, now=AT + timedelta(hours=7, minutes=59))
    assert hold_expired(held, now=AT + timedelta(hours=8))
    assert hold_expired(held, now=AT + timedelta(hours=2), ttl=timedelta(hours=1))
    assert not hold_expired(JobSnapshot("j", S.QUEUED, held_at=AT), now=AT + timedelta(days=3))


@pytest.mark.parametrize(("printer_state", "reasons", "alert"), [
    ("idle", [], None),
    ("processing", ["toner-low-warning"], None),
    ("stopped", ["media-empty-error"], "printer_paper_out"),
    ("processing", ["media-jam-error"], "printer_jam"),
    ("processing", ["offline-report"], "printer_offline"),
    ("processing", ["connecting-to-device"], "printer_offline"),
    ("stopped", ["paused"], "printer_queue_paused"),
    ("stopped", [], "printer_stopped"),
    ("processing", ["cover-open-warning"], "printer_door_open"),
])
def test_printer_faults_keep_the_job_and_raise_an_alert(printer_state: str, reasons: list[str],
                                                        alert: str | None) -> None:
    decision = printer_fault(printer_state=printer_state, reasons=reasons)
    assert decision.keep_job is True
    assert decision.alert == alert


@pytest.mark.parametrize(("code", "attempts", "retry"), [
    ("download_failed", 1, True), ("cups_unavailable", 4, True), ("cups_unavailable", 5, False),
    ("checksum_mismatch", 1, False), ("corrupt_document", 1, False), ("queue_not_found", 1, False)])
def test_should_retry(code: str, attempts: int, retry: bool) -> None:
    assert should_retry(failure_code=code, attempts=attempts) is retry


def test_retry_delay_backs_off_and_caps() -> None:
    delays = [retry_delay(n) for n in range(1, 10)]
    assert delays[0] == timedelta(seconds=30) and delays[1] == timedelta(minutes=1)
    assert delays == sorted(delays) and delays[-1] == timedelta(minutes=15)
