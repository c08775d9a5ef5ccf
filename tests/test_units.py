"""Properties of minutes attended and the units they support (SPEC, "Reconciliation rules")."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attendbot.reconcile.policy import CodeRule
from attendbot.reconcile.units import (allocate, attended_interval, minutes_attended, supported_units, time_units,
                                       union_minutes)

MINUTES = st.integers(min_value=0, max_value=1000)
UNIT_SIZES = st.integers(min_value=1, max_value=120)
CAPS = st.one_of(st.none(), st.integers(min_value=1, max_value=64))
CLOCK = st.integers(min_value=0, max_value=24 * 60 - 1)  # minutes after midnight

FAST = settings(max_examples=300, deadline=None)


def time_rule(unit_minutes: int = 15, rounding: str = "8-minute", cap: int | None = None) -> CodeRule:
    return CodeRule(code="H2019", unit="time", unit_minutes=unit_minutes, unit_rounding=rounding,
                    max_units_per_day=cap)


def clock(m: int) -> dt.time:
    return dt.time(m // 60, m % 60)


def cap_at(units: int, cap: int | None) -> int:
    return min(units, cap) if cap else units


# --- time-based units ---------------------------------------------------------------


@FAST
@given(minutes=MINUTES, size=UNIT_SIZES, cap=CAPS)
def test_eight_minute_rounding_is_minutes_plus_just_under_half_a_unit_over_unit_capped(minutes, size, cap):
    half = -(-size // 2)  # ceil(size / 2)
    assert supported_units(time_rule(size, "8-minute", cap), minutes) == cap_at((minutes + half - 1) // size, cap)


@FAST
@given(minutes=MINUTES, size=UNIT_SIZES, cap=CAPS)
def test_full_rounding_is_whole_units_capped(minutes, size, cap):
    assert supported_units(time_rule(size, "full", cap), minutes) == cap_at(minutes // size, cap)


@FAST
@given(minutes=MINUTES, size=UNIT_SIZES, cap=CAPS)
def test_full_rounding_never_gives_more_than_eight_minute_rounding(minutes, size, cap):
    full = supported_units(time_rule(size, "full", cap), minutes)
    eight = supported_units(time_rule(size, "8-minute", cap), minutes)
    assert 0 <= full <= eight


@FAST
@given(a=MINUTES, b=MINUTES, size=UNIT_SIZES, cap=CAPS, rounding=st.sampled_from(["8-minute", "full"]))
def test_units_are_monotonic_in_minutes(a, b, size, cap, rounding):
    lo, hi = sorted((a, b))
    rule = time_rule(size, rounding, cap)
    assert supported_units(rule, lo) <= supported_units(rule, hi)


@FAST
@given(minutes=MINUTES, size=UNIT_SIZES, cap=st.integers(min_value=1, max_value=64),
       rounding=st.sampled_from(["8-minute", "full"]))
def test_units_never_exceed_max_units_per_day(minutes, size, cap, rounding):
    assert supported_units(time_rule(size, rounding, cap), minutes) <= cap


@pytest.mark.parametrize("minutes, units", [(0, 0), (7, 0), (8, 1), (15, 1), (22, 1), (23, 2), (37, 2), (38, 3),
                                            (52, 3), (53, 4)])
def test_eight_minute_rounding_boundaries_for_15_minute_units(minutes, units):
    assert supported_units(time_rule(15, "8-minute"), minutes) == units


@pytest.mark.parametrize("minutes, units", [(0, 0), (14, 0), (15, 1), (29, 1), (30, 2), (44, 2), (45, 3)])
def test_full_rounding_boundaries_for_15_minute_units(minutes, units):
    assert supported_units(time_rule(15, "full"), minutes) == units


@pytest.mark.parametrize("minutes, units", [(0, 0), (30, 0), (31, 1), (60, 1), (89, 1), (90, 1), (91, 2)])
def test_eight_minute_rounding_boundaries_for_hourly_units(minutes, units):
    assert supported_units(time_rule(60, "8-minute"), minutes) == units  # (minutes + 29) // 60


@FAST
@given(minutes=MINUTES, size=UNIT_SIZES)
def test_eight_minute_rounding_counts_a_unit_exactly_when_more_than_half_of_it_was_attended(minutes, size):
    units = time_units(minutes, size, "8-minute")
    whole, rest = divmod(minutes, size)
    assert units == whole + (1 if 2 * rest > size else 0)


@FAST
@given(a=MINUTES, b=MINUTES, size=UNIT_SIZES, rounding=st.sampled_from(["8-minute", "full"]))
def test_adding_a_days_minutes_up_before_rounding_moves_the_count_by_at_most_one_unit(a, b, size, rounding):
    together = time_units(a + b, size, rounding)
    apart = time_units(a, size, rounding) + time_units(b, size, rounding)
    assert apart - (1 if rounding == "8-minute" else 0) <= together <= apart + 1


def test_spec_example_caps_h2019_at_16_units():
    assert supported_units(time_rule(15, "8-minute", 16), 300) == 16
    assert supported_units(time_rule(15, "8-minute", 12), 300) == 12


# --- per-diem and per-session codes -------------------------------------------------


@FAST
@given(minutes=MINUTES, minimum=st.integers(min_value=0, max_value=600), unit=st.sampled_from(["day", "session"]))
def test_per_diem_and_per_session_codes_need_min_minutes(minutes, minimum, unit):
    rule = CodeRule(code="H0015", unit=unit, min_minutes=minimum)
    assert supported_units(rule, minutes) == (1 if minutes >= minimum else 0)


@pytest.mark.parametrize("minutes, units", [(0, 0), (150, 0), (179, 0), (180, 1), (240, 1)])
def test_per_diem_180_minute_boundary(minutes, units):
    assert supported_units(CodeRule(code="H0015", unit="day", min_minutes=180), minutes) == units


@FAST
@given(minutes=MINUTES)
def test_per_session_code_without_minimum_is_always_one_unit(minutes):
    assert supported_units(CodeRule(code="90853", unit="session", min_minutes=0), minutes) == 1


# --- minutes attended ---------------------------------------------------------------

INTERVAL = st.tuples(CLOCK, CLOCK)
MAYBE_CLOCK = st.one_of(st.none(), CLOCK)


def span(a: int, b: int) -> int:
    return max(0, b - a)


@FAST
@given(sources=st.lists(INTERVAL, min_size=1, max_size=3))
def test_minutes_never_exceed_any_single_sources_interval(sources):
    got = minutes_attended([clock(i) for i, _ in sources], [clock(o) for _, o in sources])
    assert got is not None
    assert 0 <= got <= min(span(i, o) for i, o in sources)


@FAST
@given(sources=st.lists(INTERVAL, min_size=1, max_size=3), start=MAYBE_CLOCK, end=MAYBE_CLOCK)
def test_minutes_never_exceed_the_session_or_any_source(sources, start, end):
    got = minutes_attended([clock(i) for i, _ in sources], [clock(o) for _, o in sources],
                           None if start is None else clock(start), None if end is None else clock(end))
    assert got is not None and got >= 0
    assert got <= min(span(i, o) for i, o in sources)
    if start is not None and end is not None:
        assert got <= span(start, end)


@FAST
@given(sources=st.lists(INTERVAL, min_size=1, max_size=3), start=MAYBE_CLOCK, end=MAYBE_CLOCK)
def test_minutes_are_the_later_in_and_the_earlier_out_within_the_session(sources, start, end):
    got = minutes_attended([clock(i) for i, _ in sources], [clock(o) for _, o in sources],
                           None if start is None else clock(start), None if end is None else clock(end))
    first = max([i for i, _ in sources] + ([start] if start is not None else []))
    last = min([o for _, o in sources] + ([end] if end is not None else []))
    assert got == span(first, last)


@FAST
@given(sources=st.lists(INTERVAL, min_size=2, max_size=3))
def test_minutes_do_not_depend_on_source_order(sources):
    ins, outs = [clock(i) for i, _ in sources], [clock(o) for _, o in sources]
    assert minutes_attended(ins, outs) == minutes_attended(list(reversed(ins)), list(reversed(outs)))


@FAST
@given(a=INTERVAL, b=INTERVAL)
def test_a_second_source_never_adds_minutes(a, b):
    one = minutes_attended([clock(a[0])], [clock(a[1])])
    both = minutes_attended([clock(a[0]), clock(b[0])], [clock(a[1]), clock(b[1])])
    assert both <= one


@FAST
@given(ins=st.lists(MAYBE_CLOCK, max_size=3), outs=st.lists(MAYBE_CLOCK, max_size=3),
       start=MAYBE_CLOCK, end=MAYBE_CLOCK)
def test_minutes_are_none_without_an_in_or_without_an_out(ins, outs, start, end):
    got = minutes_attended([None if m is None else clock(m) for m in ins],
                           [None if m is None else clock(m) for m in outs],
                           None if start is None else clock(start), None if end is None else clock(end))
    has_in = any(m is not None for m in ins)
    has_out = any(m is not None for m in outs)
    assert (got is None) == (not (has_in and has_out))


def test_minutes_examples():
    nine, noon = dt.time(9), dt.time(12)
    assert minutes_attended([nine], [noon]) == 180
    assert minutes_attended([dt.time(9, 5), dt.time(9, 20)], [dt.time(11, 40), dt.time(11, 50)]) == 140
    assert minutes_attended([dt.time(8, 30)], [dt.time(12, 30)], nine, noon) == 180
    assert minutes_attended([None, dt.time(9, 15)], [noon, None], nine, noon) == 165
    assert minutes_attended([None], [noon]) is None
    assert minutes_attended([nine], [None]) is None
    assert minutes_attended([], []) is None
    assert minutes_attended([noon], [nine]) == 0  # out before in: nothing, never negative


# --- the patient-day: overlapping sessions counted once, units shared among lines -------

SPANS = st.lists(st.tuples(CLOCK, st.integers(min_value=0, max_value=300)).map(lambda p: (p[0], min(p[0] + p[1], 24 * 60))),
                 max_size=6)


@FAST
@given(spans=SPANS)
def test_union_minutes_count_every_minute_covered_once(spans):
    covered = {m for first, last in spans for m in range(first, last)}
    assert union_minutes(spans) == len(covered)


@FAST
@given(spans=SPANS)
def test_union_minutes_never_exceed_the_sum_nor_fall_below_the_longest(spans):
    total = union_minutes(spans)
    assert total <= sum(last - first for first, last in spans)
    assert total >= max((last - first for first, last in spans), default=0)


@FAST
@given(spans=SPANS)
def test_union_minutes_do_not_depend_on_order(spans):
    assert union_minutes(spans) == union_minutes(list(reversed(spans)))


def test_union_minutes_examples():
    assert union_minutes([(540, 600), (660, 720), (780, 840)]) == 180  # three one-hour groups
    assert union_minutes([(540, 660), (600, 720)]) == 180  # 9-11 and 10-12 overlap an hour
    assert union_minutes([(540, 720), (600, 660)]) == 180  # one inside the other
    assert union_minutes([]) == 0


@FAST
@given(supported=st.integers(min_value=0, max_value=64), charged=st.lists(st.integers(min_value=0, max_value=16),
                                                                          min_size=1, max_size=5))
def test_allocate_shares_exactly_the_supported_units_in_order(supported, charged):
    shares = allocate(supported, charged)
    assert sum(shares) == supported
    assert all(s >= 0 for s in shares)
    assert all(s <= c for s, c in zip(shares[:-1], charged[:-1]))  # only the last line is told of spare units
    full = [i for i, (s, c) in enumerate(zip(shares, charged)) if s < c]
    if full:  # a line short of its units leaves none for the lines after it
        assert all(s == 0 for s in shares[full[0] + 1:])


@FAST
@given(ins=st.lists(MAYBE_CLOCK, max_size=3), outs=st.lists(MAYBE_CLOCK, max_size=3), start=MAYBE_CLOCK,
       end=MAYBE_CLOCK)
def test_the_attended_interval_is_never_reversed_and_its_length_is_the_minutes(ins, outs, start, end):
    args = ([None if m is None else clock(m) for m in ins], [None if m is None else clock(m) for m in outs],
            None if start is None else clock(start), None if end is None else clock(end))
    span = attended_interval(*args)
    if span is None:
        assert minutes_attended(*args) is None
    else:
        assert span[0] <= span[1]
        assert span[1] - span[0] == minutes_attended(*args)
