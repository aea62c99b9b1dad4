"""Missed-punch requests: transitions, audit trail, and their effect on computed days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.domain.attendance import (
    AuditEntry,
    CorrectionError,
    DayStatus,
    InvalidTransition,
    MissedPunchRequest,
    NotAllowed,
    Punch,
    PunchDirection,
    RequestState,
    Shift,
    approve,
    compute_day,
    create_request,
    reject,
    to_punch,
)

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY = date(2026, 3, 3)
IN, OUT = PunchDirection.IN, PunchDirection.OUT
S = DayStatus
DAY = Shift(name="Day", start=time(9), end=time(17), tz="Europe/Berlin")
FILED = datetime(2026, 3, 4, 8, 0, tzinfo=BERLIN)
DECIDED = datetime(2026, 3, 4, 10, 0, tzinfo=BERLIN)


def t(h: int, m: int = 0) -> datetime:
    return datetime(2026, 3, 3, h, m, tzinfo=BERLIN)


def request(
    rid: str = "r1", ts: datetime | None = None, direction: PunchDirection = OUT
) -> MissedPunchRequest:
    return create_request(
        id=rid, employee_id="e1", ts=ts or t(17), direction=direction, reason="forgot to punch out",
        actor="e1", at=FILED,
    )


def approved(req: MissedPunchRequest) -> MissedPunchRequest:
    return approve(req, actor="hr-1", actor_role="admin", at=DECIDED, note="confirmed by team lead")


def face(ts: datetime, direction: PunchDirection, pid: str) -> Punch:
    return Punch(ts=ts, direction=direction, source="face", device_id="door-1", punch_id=pid)


def test_new_request_is_pending_with_created_entry() -> None:
    req = request()
    assert req.state is RequestState.PENDING
    assert req.audit == (AuditEntry(at=FILED, actor="e1", action="created", note="forgot to punch out"),)


def test_approval_appends_audit_and_keeps_the_original() -> None:
    req = request()
    done = approved(req)
    assert done.state is RequestState.APPROVED
    assert done.audit == (
        AuditEntry(at=FILED, actor="e1", action="created", note="forgot to punch out"),
        AuditEntry(at=DECIDED, actor="hr-1", action="approved", note="confirmed by team lead"),
    )
    assert done.decided_by == "hr-1"
    assert req.state is RequestState.PENDING and len(req.audit) == 1  # input untouched


def test_rejection_records_note() -> None:
    done = reject(request(), actor="hr-1", actor_role="admin", at=DECIDED, note="badge log shows no visit")
    assert done.state is RequestState.REJECTED
    assert done.audit[-1] == AuditEntry(
        at=DECIDED, actor="hr-1", action="rejected", note="badge log shows no visit"
    )


def _approve_again(req: MissedPunchRequest) -> Any:
    return approved(approved(req))


def _reject_approved(req: MissedPunchRequest) -> Any:
    return reject(approved(req), actor="hr-2", actor_role="admin", at=DECIDED, note="no")


def _approve_rejected(req: MissedPunchRequest) -> Any:
    return approved(reject(req, actor="hr-1", actor_role="admin", at=DECIDED, note="no"))


def _self_approve(req: MissedPunchRequest) -> Any:
    return approve(req, actor="e1", actor_role="admin", at=DECIDED)


def _employee_role(req: MissedPunchRequest) -> Any:
    return approve(req, actor="e2", actor_role="employee", at=DECIDED)


def _reject_without_note(req: MissedPunchRequest) -> Any:
    return reject(req, actor="hr-1", actor_role="admin", at=DECIDED, note="  ")


def _naive_decision_time(req: MissedPunchRequest) -> Any:
    return approve(req, actor="hr-1", actor_role="admin", at=datetime(2026, 3, 4, 10))


def _punch_from_pending(req: MissedPunchRequest) -> Any:
    return to_punch(req)


@pytest.mark.parametrize(
    ("action", "error", "message"),
    [
        pytest.param(_approve_again, InvalidTransition, "already approved \\(by hr-1\\)", id="approve_twice"),
        pytest.param(_reject_approved, InvalidTransition, "already approved", id="reject_after_approve"),
        pytest.param(_approve_rejected, InvalidTransition, "already rejected", id="approve_after_reject"),
        pytest.param(_self_approve, NotAllowed, "their own requests", id="self_approval_even_as_admin"),
        pytest.param(_employee_role, NotAllowed, "role 'employee' is not an approver", id="employee_role"),
        pytest.param(_reject_without_note, CorrectionError, "needs a note", id="reject_without_note"),
        pytest.param(_naive_decision_time, ValueError, "timezone-aware", id="naive_decision_time"),
        pytest.param(_punch_from_pending, InvalidTransition, "only approved", id="punch_from_pending"),
    ],
)
def test_invalid_transitions_are_refused(
    action: Callable[[MissedPunchRequest], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        action(request())


def test_custom_approver_roles() -> None:
    done = approve(request(), actor="lead-7", actor_role="manager", at=DECIDED,
                   approver_roles={"admin", "manager"})
    assert done.state is RequestState.APPROVED


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(dict(direction=PunchDirection.AUTO), "IN or OUT", id="auto_direction"),
        pytest.param(dict(reason="   "), "needs a reason", id="empty_reason"),
        pytest.param(dict(ts=datetime(2026, 3, 3, 17)), "timezone-aware", id="naive_ts"),
        pytest.param(dict(employee_id=""), "must not be empty", id="no_employee"),
    ],
)
def test_create_request_validation(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = dict(id="r1", employee_id="e1", ts=t(17), direction=OUT, reason="forgot",
                                  actor="e1", at=FILED)
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        create_request(**fields)


def test_approved_request_becomes_correction_punch() -> None:
    assert to_punch(approved(request())) == Punch(
        ts=t(17), direction=OUT, source="correction", device_id=None, punch_id="correction:r1"
    )


def test_approved_checkout_completes_a_missing_checkout_day() -> None:
    punches = [face(t(8, 58), IN, "p1")]
    before = compute_day(employee_id="e1", work_date=TUESDAY, punches=punches, shift=DAY)
    assert set(before.statuses) == {S.ON_TIME, S.MISSING_CHECKOUT}
    after = compute_day(employee_id="e1", work_date=TUESDAY, punches=punches, shift=DAY,
                        approved_corrections=[approved(request())])
    assert after.statuses == (S.ON_TIME,)
    assert after.complete and after.worked.total_seconds() == 8 * 3600 + 2 * 60
    assert after.punch_ids == ("p1", "correction:r1")
    assert "OUT 17:00 comes from missed-punch request r1 approved by hr-1" in after.notes


def test_approved_in_and_out_turn_absent_into_a_complete_day() -> None:
    reqs = [approved(request("r-in", t(9), IN)), approved(request("r-out", t(17), OUT))]
    before = compute_day(employee_id="e1", work_date=TUESDAY, punches=[], shift=DAY)
    assert before.statuses == (S.ABSENT,)
    after = compute_day(employee_id="e1", work_date=TUESDAY, punches=[], shift=DAY, approved_corrections=reqs)
    assert after.statuses == (S.ON_TIME,)
    assert after.worked.total_seconds() == 8 * 3600


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda r: reject(r, actor="hr-1", actor_role="admin", at=DECIDED, note="no"),
                     id="rejected"),
        pytest.param(lambda r: r, id="still_pending"),
    ],
)
def test_unapproved_corrections_are_not_counted(
    make: Callable[[MissedPunchRequest], MissedPunchRequest],
) -> None:
    rec = compute_day(employee_id="e1", work_date=TUESDAY, punches=[face(t(9), IN, "p1")], shift=DAY,
                      approved_corrections=[make(request())])
    assert set(rec.statuses) == {S.ON_TIME, S.MISSING_CHECKOUT}
    assert rec.punch_ids == ("p1",)


def test_correction_of_another_employee_is_an_error() -> None:
    other = approved(create_request(id="r9", employee_id="e2", ts=t(17), direction=OUT, reason="x",
                                    actor="e2", at=FILED))
    with pytest.raises(ValueError, match="belongs to e2, not e1"):
        compute_day(employee_id="e1", work_date=TUESDAY, punches=[], shift=DAY, approved_corrections=[other])
