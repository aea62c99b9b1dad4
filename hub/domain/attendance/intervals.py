"""From the raw punches of one work date to presence intervals.

Steps, in order (each dropped or reinterpreted punch leaves a note):
1. sort by (instant, punch_id); drop repeated punch_ids (a redelivered event);
2. drop duplicates: a punch within `duplicate_window` of the previously kept punch with the same
   direction (or where either is AUTO) - one approach to the terminal is one punch;
3. resolve AUTO: a lone AUTO punch is OUT when it lies only in the check-out window, else IN;
   otherwise the first punch of the day is IN, the last is OUT, and one in between is the
   opposite of the punch before it (ZKTeco's "automatic status switch");
4. pair: IN opens an interval, OUT closes it. A second IN while checked in is ignored (the
   earlier one stands); an OUT after a closed interval moves that interval's end (the later
   OUT stands); an OUT before any IN is ignored for worked time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, timedelta

from hub.domain.attendance.fmt import fmt_dur, fmt_ts
from hub.domain.attendance.models import Punch, PunchDirection
from hub.domain.attendance.shifts import ShiftWindow, elapsed


@dataclass(frozen=True, slots=True)
class Presence:
    punches: tuple[Punch, ...]  # kept punches, directions resolved, in time order
    pairs: tuple[tuple[Punch, Punch], ...]
    first_in: Punch | None
    last_out: Punch | None
    open_in: Punch | None  # an IN that no OUT followed
    raw_worked: timedelta
    notes: tuple[str, ...]


def _label(p: Punch, win: ShiftWindow) -> str:
    return f"{p.direction.value} {fmt_ts(p.ts, win)} ({p.source}, {p.punch_id})"


def _dedupe(
    punches: Sequence[Punch], win: ShiftWindow, dup_window: timedelta, notes: list[str]
) -> list[Punch]:
    ordered = sorted(punches, key=lambda p: (p.ts.astimezone(UTC), p.punch_id))
    seen: set[str] = set()
    kept: list[Punch] = []
    for p in ordered:
        if p.punch_id in seen:
            notes.append(f"punch {p.punch_id} appears twice; counted once")
            continue
        seen.add(p.punch_id)
        if kept:
            prev = kept[-1]
            same_way = PunchDirection.AUTO in (p.direction, prev.direction) or p.direction == prev.direction
            if same_way and elapsed(prev.ts, p.ts) <= dup_window:
                notes.append(
                    f"duplicate {_label(p, win)} ignored: within {fmt_dur(dup_window)} of {_label(prev, win)}"
                )
                continue
        kept.append(p)
    return kept


def _resolve_auto(punches: list[Punch], win: ShiftWindow, notes: list[str]) -> list[Punch]:
    out: list[Punch] = []
    last = len(punches) - 1
    for i, p in enumerate(punches):
        if p.direction is not PunchDirection.AUTO:
            out.append(p)
            continue
        if last == 0:
            only_checkout = win.in_checkout_window(p.ts) and not win.in_checkin_window(p.ts)
            resolved = PunchDirection.OUT if only_checkout else PunchDirection.IN
            why = "the only punch, inside the check-out window only" if only_checkout else "the only punch"
        elif i == 0:
            resolved, why = PunchDirection.IN, "first punch of the day"
        elif i == last:
            resolved, why = PunchDirection.OUT, "last punch of the day"
        else:
            before = out[-1].direction
            resolved = PunchDirection.OUT if before is PunchDirection.IN else PunchDirection.IN
            why = f"follows a {before.value}"
        notes.append(f"AUTO punch at {fmt_ts(p.ts, win)} ({p.punch_id}) read as {resolved.value}: {why}")
        out.append(replace(p, direction=resolved))
    return out


def build_presence(punches: Sequence[Punch], win: ShiftWindow, *, duplicate_window: timedelta) -> Presence:
    notes: list[str] = []
    kept = _resolve_auto(_dedupe(punches, win, duplicate_window, notes), win, notes)
    pairs: list[tuple[Punch, Punch]] = []
    open_in: Punch | None = None
    stray_outs: list[Punch] = []
    for p in kept:
        if p.direction is PunchDirection.IN:
            if open_in is None:
                open_in = p
            else:
                notes.append(f"{_label(p, win)} ignored: already checked in at {fmt_ts(open_in.ts, win)}")
        elif open_in is not None:
            pairs.append((open_in, p))
            open_in = None
        elif pairs:
            notes.append(f"{_label(p, win)} replaces the earlier OUT at {fmt_ts(pairs[-1][1].ts, win)}")
            pairs[-1] = (pairs[-1][0], p)
        else:
            stray_outs.append(p)
            notes.append(f"{_label(p, win)} has no IN before it; not counted as worked time")
    first_in = pairs[0][0] if pairs else open_in
    last_out = pairs[-1][1] if pairs else (stray_outs[-1] if stray_outs else None)
    raw = sum((elapsed(a.ts, b.ts) for a, b in pairs), timedelta(0))
    return Presence(
        punches=tuple(kept),
        pairs=tuple(pairs),
        first_in=first_in,
        last_out=last_out,
        open_in=open_in,
        raw_worked=raw,
        notes=tuple(notes),
    )
