from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.rollout import (
    Abort,
    AdvanceStage,
    Complete,
    DeviceState,
    Offer,
    Rollback,
    Rollout,
    RolloutError,
    RolloutPlan,
    RolloutState,
    Step,
    abort,
    advance,
    assign_stages,
    create_rollout,
    pause,
    report,
    resume,
    rollback,
    skip_reason,
    start,
    tick,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def fleet(n: int, version: str = "1.0.0") -> dict[str, str]:
    return {f"door-{i:03d}": version for i in range(n)}


def make(n: int, plan: RolloutPlan, *, seed: str = "s") -> Rollout:
    return create_rollout(rollout_id="r1", target_version="2.0.0", plan=plan,
                          current_versions=fleet(n), seed=seed, now=T0)


def offers(step: Step) -> list[str]:
    return [d for a in step.actions if isinstance(a, Offer) for d in a.device_ids]


def rollbacks(step: Step) -> dict[str, str]:
    return {d: v for a in step.actions if isinstance(a, Rollback) for d, v in a.targets}


# --- plan and stage math --------------------------------------------------------------------------


@pytest.mark.parametrize("stages", [[], [0, 100], [50, 25, 100], [5, 50], [10, 10, 100], [101]])
def test_bad_plans_rejected(stages: list[int]) -> None:
    with pytest.raises(RolloutError, match="stages"):
        RolloutPlan(stages=tuple(stages))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"failure_threshold_pct": 0}, "failure_threshold_pct"),
    ({"success_threshold_pct": 120}, "success_threshold_pct"),
    ({"min_executed": 0}, "min_executed"),
    ({"device_timeout_s": 0}, "device_timeout_s"),
])
def test_bad_thresholds_rejected(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(RolloutError, match=field):
        RolloutPlan(stages=(100,), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("n", "stages", "sizes"), [
    (100, [5, 25, 100], [5, 20, 75]),
    (10, [5, 25, 100], [1, 2, 7]),     # ceil: the canary stage always gets someone
    (3, [10, 50, 100], [1, 1, 1]),
    (1, [5, 25, 100], [1, 0, 0]),
    (0, [50, 100], [0, 0]),
    (7, [100], [7]),
])
def test_stage_sizes(n: int, stages: list[int], sizes: list[int]) -> None:
    got = assign_stages([f"d{i}" for i in range(n)], stages=stages, seed="x")
    counts = Counter(got.values())
    assert [counts.get(i, 0) for i in range(len(stages))] == sizes
    assert len(got) == n


def test_stage_assignment_is_deterministic_and_seeded() -> None:
    ids = [f"d{i}" for i in range(200)]
    a = assign_stages(ids, stages=[5, 25, 100], seed="alpha")
    assert a == assign_stages(list(reversed(ids)), stages=[5, 25, 100], seed="alpha")
    b = assign_stages(ids, stages=[5, 25, 100], seed="beta")
    assert {d for d, s in a.items() if s == 0} != {d for d, s in b.items() if s == 0}


def test_devices_already_on_target_are_left_out() -> None:
    versions = {"a": "1.0", "b": "2.0.0", "c": "1.1"}
    r = create_rollout(rollout_id="r", target_version="2.0.0", plan=RolloutPlan(stages=(100,)),
                       current_versions=versions, seed="s", now=T0)
    assert sorted(r.devices) == ["a", "c"]
    assert r.devices["c"].previous_version == "1.1"


def test_devices_that_would_refuse_the_image_are_left_out() -> None:
    """Versions compare by meaning: a device on 1.10 is past 1.9; one below min_version is skipped."""
    versions = {"a": "1.9.0", "b": "1.10.0", "c": "1.8", "d": "2.0", "e": "unknown"}
    r = create_rollout(rollout_id="r", target_version="1.10", plan=RolloutPlan(stages=(100,)),
                       current_versions=versions, seed="s", now=T0, min_version="1.9")
    assert sorted(r.devices) == ["a", "e"]  # "unknown" is the device's to judge
    assert skip_reason("1.10.0", target="1.10") == "runs 1.10.0, not older than 1.10"
    assert skip_reason("2.0", target="1.10") == "runs 2.0, not older than 1.10"
    assert skip_reason("1.8", target="1.10", min_version="1.9") == "runs 1.8, below the image's min_version 1.9"
    assert skip_reason("1.9.0", target="1.10", min_version="1.9") is None


# --- happy path -----------------------------------------------------------------------------------


def test_stages_advance_on_success_then_complete() -> None:
    r = make(20, RolloutPlan(stages=(10, 50, 100), success_threshold_pct=100))
    s = start(r, now=T0)
    assert s.rollout.state is RolloutState.RUNNING
    stage0 = offers(s)
    assert len(stage0) == 2 and AdvanceStage(0, 10) in s.actions
    r = s.rollout
    for d in stage0[:-1]:
        r = report(r, d, "downloading", now=T0).rollout
        s = report(r, d, "succeeded", now=T0)
        assert not offers(s)
        r = s.rollout
    s = report(r, stage0[-1], "succeeded", now=T0)
    assert AdvanceStage(1, 50) in s.actions and len(offers(s)) == 8
    r = s.rollout
    for d in offers(s)[:-1]:
        r = report(r, d, "succeeded", now=T0).rollout
    straggler = next(d for d in r.devices if r.devices[d].state is DeviceState.OFFERED)
    s = report(r, straggler, "succeeded", now=T0)
    last = offers(s)
    assert len(last) == 10
    r = s.rollout
    for d in last[:-1]:
        r = report(r, d, "succeeded", now=T0).rollout
    assert r.state is RolloutState.RUNNING
    s = report(r, last[-1], "succeeded", now=T0)
    assert s.rollout.state is RolloutState.COMPLETED and Complete() in s.actions
    assert {t.to_state for t in s.transitions if t.subject == "rollout"} == {"completed"}


def test_success_threshold_below_100_advances_early_but_completes_only_when_idle() -> None:
    plan = RolloutPlan(stages=(50, 100), success_threshold_pct=50, failure_threshold_pct=90)
    r = make(4, plan)
    s = start(r, now=T0)
    a, b = offers(s)
    s = report(s.rollout, a, "succeeded", now=T0)
    later = offers(s)
    assert len(later) == 2  # 1/2 = 50 % of stage 0 is enough
    r = s.rollout
    for d in later:
        r = report(r, d, "succeeded", now=T0).rollout
    assert r.state is RolloutState.RUNNING  # b is still downloading
    s = report(r, b, "failed", now=T0, error="disk full")
    assert s.rollout.state is RolloutState.COMPLETED
    assert s.rollout.devices[b].error == "disk full"


def test_stage_finishing_below_success_threshold_pauses() -> None:
    plan = RolloutPlan(stages=(50, 100), success_threshold_pct=100, failure_threshold_pct=60,
                       min_executed=1)
    s = start(make(4, plan), now=T0)
    a, b = offers(s)
    r = report(s.rollout, a, "succeeded", now=T0).rollout
    s = report(r, b, "failed", now=T0)  # 1/2 failed = 50 % < 60 %: not an abort
    assert s.rollout.state is RolloutState.PAUSED
    assert "below 100%" in (s.rollout.reason or "")
    again = resume(s.rollout, now=T0)
    assert again.rollout.state is RolloutState.PAUSED  # still stuck: admin must advance or abort
    s = advance(again.rollout, now=T0)
    assert s.rollout.state is RolloutState.RUNNING and len(offers(s)) == 2


# --- commands and their errors ------------------------------------------------------------------


def test_pause_resume_and_invalid_commands() -> None:
    r = make(10, RolloutPlan(stages=(20, 100)))
    with pytest.raises(RolloutError, match="cannot pause rollout r1 in state draft"):
        pause(r, now=T0)
    with pytest.raises(RolloutError, match="cannot resume"):
        resume(r, now=T0)
    with pytest.raises(RolloutError, match="roll back"):
        rollback(r, now=T0)
    s = start(r, now=T0)
    with pytest.raises(RolloutError, match="cannot start"):
        start(s.rollout, now=T0)
    first = offers(s)
    p = pause(s.rollout, now=T0).rollout
    assert p.state is RolloutState.PAUSED
    for d in first:
        p = report(p, d, "succeeded", now=T0).rollout
    assert p.state is RolloutState.PAUSED
    assert all(d.state is DeviceState.PENDING for d in p.devices.values() if d.stage == 1)
    s = resume(p, now=T0)
    assert s.rollout.state is RolloutState.RUNNING and len(offers(s)) == 8


def test_reports_are_validated_and_stale_ones_ignored() -> None:
    s = start(make(10, RolloutPlan(stages=(10, 100))), now=T0)
    [d] = offers(s)
    r = s.rollout
    pending = next(x for x in r.devices if r.devices[x].state is DeviceState.PENDING)
    with pytest.raises(RolloutError, match="never offered"):
        report(r, pending, "succeeded", now=T0)
    with pytest.raises(RolloutError, match="not part of rollout"):
        report(r, "ghost", "succeeded", now=T0)
    with pytest.raises(RolloutError, match="unknown state"):
        report(r, d, "exploded", now=T0)
    r = report(r, d, "applying", now=T0).rollout
    stale = report(r, d, "downloading", now=T0)
    assert stale.rollout.devices[d].state is DeviceState.APPLYING and not stale.transitions


def test_manual_abort_rolls_back_touched_devices_only() -> None:
    s = start(make(10, RolloutPlan(stages=(30, 100))), now=T0)
    a, b, c = offers(s)
    r = report(s.rollout, a, "succeeded", now=T0).rollout
    r = report(r, b, "applying", now=T0).rollout
    s = abort(r, now=T0, reason="wrong build")
    assert Abort("wrong build") in s.actions
    assert rollbacks(s) == {a: "1.0.0", b: "1.0.0", c: "1.0.0"}
    assert s.rollout.state is RolloutState.ROLLING_BACK
    with pytest.raises(RolloutError, match="cannot abort"):
        abort(s.rollout, now=T0, reason="again")


def test_abort_without_rollback_then_rollback_later() -> None:
    s = start(make(10, RolloutPlan(stages=(10, 100))), now=T0)
    [d] = offers(s)
    s = abort(report(s.rollout, d, "applying", now=T0).rollout, now=T0, reason="hold", rollback=False)
    assert s.rollout.state is RolloutState.ABORTED and not rollbacks(s)
    s = rollback(s.rollout, now=T0)
    assert rollbacks(s) == {d: "1.0.0"} and s.rollout.state is RolloutState.ROLLING_BACK
    s = report(s.rollout, d, "rolled_back", now=T0)
    assert s.rollout.state is RolloutState.ROLLED_BACK


def test_abort_of_draft_offers_nothing() -> None:
    s = abort(make(5, RolloutPlan(stages=(100,))), now=T0, reason="never mind")
    assert s.rollout.state is RolloutState.ABORTED and not rollbacks(s) and not offers(s)


# --- timeouts -------------------------------------------------------------------------------------


def test_timeouts_count_as_failures_and_late_results_are_kept() -> None:
    plan = RolloutPlan(stages=(20, 100), failure_threshold_pct=50, min_executed=2, device_timeout_s=600)
    s = start(make(10, plan), now=T0)
    a, b = offers(s)
    r = report(s.rollout, a, "succeeded", now=T0 + timedelta(seconds=10)).rollout
    quiet = tick(r, now=T0 + timedelta(seconds=599))
    assert quiet.rollout.devices[b].state is DeviceState.OFFERED and not quiet.actions
    s = tick(r, now=T0 + timedelta(seconds=600))
    assert s.rollout.devices[b].state is DeviceState.TIMED_OUT
    # 1 of 2 executed failed = 50 % → abort and roll back both.
    assert s.rollout.state is RolloutState.ROLLING_BACK
    assert set(rollbacks(s)) == {a, b}
    late = report(s.rollout, b, "succeeded", now=T0 + timedelta(seconds=700))
    assert late.rollout.devices[b].state is DeviceState.SUCCEEDED
    assert late.rollout.state is RolloutState.ROLLING_BACK


def test_unanswered_rollbacks_are_resent_after_timeout() -> None:
    plan = RolloutPlan(stages=(100,), device_timeout_s=60)
    s = start(make(2, plan), now=T0)
    a, b = offers(s)
    s = abort(s.rollout, now=T0, reason="stop")
    r = report(s.rollout, a, "rolled_back", now=T0 + timedelta(seconds=5)).rollout
    assert not rollbacks(tick(r, now=T0 + timedelta(seconds=30)))
    s = tick(r, now=T0 + timedelta(seconds=61))
    assert rollbacks(s) == {b: "1.0.0"}
    s = report(s.rollout, b, "rolled_back", now=T0 + timedelta(seconds=62))
    assert s.rollout.state is RolloutState.ROLLED_BACK


# --- the safety property --------------------------------------------------------------------------


def simulate(n: int, failing: set[str], plan: RolloutPlan) -> tuple[Rollout, list[Step]]:
    """Drive a rollout like a fleet would: each offered device answers, one at a time."""
    steps = [start(make(n, plan), now=T0)]
    queue = list(offers(steps[0]))
    r = steps[0].rollout
    t = T0
    while queue:
        d = queue.pop(0)
        t += timedelta(seconds=1)
        s = report(r, d, "downloading", now=t)
        s = report(s.rollout, d, "failed" if d in failing else "succeeded", now=t)
        steps.append(s)
        queue += offers(s)
        r = s.rollout
    return r, steps


def finish_rollbacks(r: Rollout, steps: list[Step]) -> Rollout:
    t = T0 + timedelta(hours=1)
    for target in sorted({d for s in steps for d in rollbacks(s)}):
        r = report(r, target, "rolled_back", now=t).rollout
    return r


def test_fifty_devices_twenty_percent_failing_stops_at_threshold() -> None:
    plan = RolloutPlan(stages=(10, 50, 100), success_threshold_pct=80, failure_threshold_pct=15,
                       min_executed=5)
    ids = sorted(fleet(50))
    failing = set(ids[::5])  # 10 of 50 = 20 %
    r, steps = simulate(50, failing, plan)
    assert r.state is RolloutState.ROLLING_BACK
    abort_at = next(i for i, s in enumerate(steps) if any(isinstance(a, Abort) for a in s.actions))
    assert all(not offers(s) for s in steps[abort_at + 1:])
    touched = {d for d, run in r.devices.items() if run.state is not DeviceState.PENDING}
    assert touched and len(touched) < 50
    assert set(rollbacks(steps[abort_at])) == touched
    assert all(v == "1.0.0" for v in rollbacks(steps[abort_at]).values())
    r = finish_rollbacks(r, steps)
    assert r.state is RolloutState.ROLLED_BACK
    # Nothing half-applied: every device is either untouched or back on its old version.
    assert {run.state for run in r.devices.values()} <= {DeviceState.PENDING, DeviceState.ROLLED_BACK}


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), fail_mask=st.lists(st.booleans(), min_size=60, max_size=60),
       failure_pct=st.sampled_from([5.0, 20.0, 50.0]), min_executed=st.integers(1, 10))
def test_property_abort_stops_offers_and_rolls_back_every_touched_device(
        n: int, fail_mask: list[bool], failure_pct: float, min_executed: int) -> None:
    plan = RolloutPlan(stages=(5, 25, 100), success_threshold_pct=50, failure_threshold_pct=failure_pct,
                       min_executed=min_executed)
    ids = sorted(fleet(n))
    failing = {d for d, bad in zip(ids, fail_mask, strict=False) if bad}
    r, steps = simulate(n, failing, plan)
    aborted = [i for i, s in enumerate(steps) if any(isinstance(a, Abort) for a in s.actions)]
    if aborted:
        i = aborted[0]
        assert all(not offers(s) for s in steps[i + 1:])
        touched = {d for d, run in steps[i].rollout.devices.items() if run.state is not DeviceState.PENDING}
        assert set(rollbacks(steps[i])) == touched
        r = finish_rollbacks(r, steps)
        assert r.state is RolloutState.ROLLED_BACK
        assert {run.state for run in r.devices.values()} <= {DeviceState.PENDING, DeviceState.ROLLED_BACK}
    else:
        failures, executed = r.failure_stats()
        assert executed < min_executed or failures * 100 < failure_pct * executed
        assert r.state in (RolloutState.COMPLETED, RolloutState.PAUSED)
