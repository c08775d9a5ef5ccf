"""The value parsers: dates, times, time ranges, NPIs and modifiers as real exports write them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from attendbot.npi import npi_check_digit, npi_valid
from attendbot.readers.parse import (
    parse_date,
    parse_modifiers,
    parse_time,
    parse_time_range,
)

EXCEL_EPOCH = dt.date(1899, 12, 30)

dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))
# Times as people write them: whole minutes (sheets and exports carry no seconds).
times = st.builds(dt.time, st.integers(0, 23), st.integers(0, 59))


def excel_serial(day: dt.date) -> int:
    return (day - EXCEL_EPOCH).days


# --- dates -----------------------------------------------------------------------------

DATE_FORMS = {
    "us": lambda d: d.strftime("%m/%d/%Y"),
    "iso": lambda d: d.isoformat(),
    "dd-mon-yyyy": lambda d: d.strftime("%d-%b-%Y"),
    "mon dd, yyyy": lambda d: d.strftime("%b %d, %Y"),
    "us without leading zeros": lambda d: f"{d.month}/{d.day}/{d.year}",
    "excel serial number": excel_serial,
    "excel serial as float": lambda d: float(excel_serial(d)),
    "excel serial with a time fraction": lambda d: excel_serial(d) + 0.375,
    "excel serial as text": lambda d: str(excel_serial(d)),
    "datetime cell": lambda d: dt.datetime(d.year, d.month, d.day, 0, 0),
    "datetime cell with a time": lambda d: dt.datetime(d.year, d.month, d.day, 14, 30),
    "date cell": lambda d: d,
    "us with a midnight time": lambda d: d.strftime("%m/%d/%Y") + " 12:00:00 AM",
    "iso with T time": lambda d: d.isoformat() + "T00:00:00",
}


@pytest.mark.parametrize("form", DATE_FORMS)
@settings(max_examples=60, deadline=None)
@given(day=dates)
def test_every_date_form_round_trips_to_the_same_date(form, day):
    assert parse_date(DATE_FORMS[form](day)) == day


@pytest.mark.parametrize("written, expected", [
    ("11/24/2026", dt.date(2026, 11, 24)),
    ("2026-11-24", dt.date(2026, 11, 24)),
    ("24-Nov-2026", dt.date(2026, 11, 24)),
    ("Nov 24, 2026", dt.date(2026, 11, 24)),
    ("November 24, 2026", dt.date(2026, 11, 24)),
    ("  11/24/2026  ", dt.date(2026, 11, 24)),
    (46350, dt.date(2026, 11, 24)),
])
def test_the_date_forms_named_in_the_spec_parse(written, expected):
    assert parse_date(written) == expected


@pytest.mark.parametrize("blank", [None, "", "   ", "\t"])
def test_a_blank_date_cell_is_none_not_an_error(blank):
    assert parse_date(blank) is None


@pytest.mark.parametrize("bad", ["tomorrow", "13/45/2026", "2026-02-30", "N/A", "12", 7, True])
def test_text_that_is_not_a_date_raises_value_error(bad):
    with pytest.raises(ValueError):
        parse_date(bad)


# --- times -----------------------------------------------------------------------------

TIME_FORMS = {
    "12-hour with am/pm": lambda t: t.strftime("%I:%M %p"),
    "12-hour without leading zero": lambda t: f"{(t.hour % 12) or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}",
    "12-hour lower-case glued": lambda t: f"{(t.hour % 12) or 12}:{t.minute:02d}{'am' if t.hour < 12 else 'pm'}",
    "24-hour": lambda t: t.strftime("%H:%M"),
    "24-hour with seconds": lambda t: t.strftime("%H:%M:00"),
    "military": lambda t: t.strftime("%H%M"),
    "excel fraction of a day": lambda t: (t.hour * 60 + t.minute) / 1440,
    "time cell": lambda t: t,
    "datetime cell": lambda t: dt.datetime(2026, 11, 24, t.hour, t.minute),
}


@pytest.mark.parametrize("form", TIME_FORMS)
@settings(max_examples=60, deadline=None)
@given(moment=times)
def test_every_time_form_round_trips_to_the_same_time(form, moment):
    assert parse_time(TIME_FORMS[form](moment)) == moment


@pytest.mark.parametrize("written, expected", [
    ("9:00 AM", dt.time(9, 0)),
    ("09:00", dt.time(9, 0)),
    ("0900", dt.time(9, 0)),
    ("930", dt.time(9, 30)),
    ("9am", dt.time(9, 0)),
    ("9 a.m.", dt.time(9, 0)),
    ("12:00 PM", dt.time(12, 0)),
    ("12:00 AM", dt.time(0, 0)),
    ("14:30:00", dt.time(14, 30)),
    (900, dt.time(9, 0)),
    (0.375, dt.time(9, 0)),
    (dt.timedelta(hours=9, minutes=15), dt.time(9, 15)),
    (dt.time(9, 2, 41), dt.time(9, 2)),
])
def test_the_time_forms_named_in_the_spec_parse(written, expected):
    assert parse_time(written) == expected


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_a_blank_time_cell_is_none_not_an_error(blank):
    assert parse_time(blank) is None


@pytest.mark.parametrize("bad", ["noon-ish", "25:00", "9:75", "2400", "0960", "13:00 PM", 1.5, -3])
def test_text_that_is_not_a_time_raises_value_error(bad):
    with pytest.raises(ValueError):
        parse_time(bad)


# --- time ranges -----------------------------------------------------------------------

@pytest.mark.parametrize("written, start, end", [
    ("9:00 AM - 12:00 PM", dt.time(9, 0), dt.time(12, 0)),
    ("9:00 AM – 12:00 PM", dt.time(9, 0), dt.time(12, 0)),
    ("9:00 AM — 12:00 PM", dt.time(9, 0), dt.time(12, 0)),
    ("9:00 AM to 12:00 PM", dt.time(9, 0), dt.time(12, 0)),
    ("9:00AM-12:00PM", dt.time(9, 0), dt.time(12, 0)),
    ("09:00-12:00", dt.time(9, 0), dt.time(12, 0)),
    ("0900 - 1200", dt.time(9, 0), dt.time(12, 0)),
    ("9-12pm", dt.time(9, 0), dt.time(12, 0)),
    ("1-4pm", dt.time(13, 0), dt.time(16, 0)),
    ("10:30 - 1:30 PM", dt.time(10, 30), dt.time(13, 30)),
    ("6:00 PM - 9:00 PM", dt.time(18, 0), dt.time(21, 0)),
    ("5:30 - 8:30 PM", dt.time(17, 30), dt.time(20, 30)),
])
def test_a_time_range_gives_its_start_and_end(written, start, end):
    assert parse_time_range(written) == (start, end)


def test_a_blank_time_range_is_two_nones():
    assert parse_time_range(None) == (None, None)
    assert parse_time_range("  ") == (None, None)


@pytest.mark.parametrize("bad", ["9:00 AM", "morning", "9:00 AM - later"])
def test_a_time_range_that_is_not_one_raises_value_error(bad):
    with pytest.raises(ValueError):
        parse_time_range(bad)


@settings(max_examples=100, deadline=None)
@given(start=times, end=times)
def test_a_time_range_written_in_12_hour_form_round_trips(start, end):
    written = f"{start.strftime('%I:%M %p')} - {end.strftime('%I:%M %p')}"
    assert parse_time_range(written) == (start, end)


# --- NPI -------------------------------------------------------------------------------

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_known_valid_npis_pass_the_check(npi):
    assert npi_valid(npi)


@pytest.mark.parametrize("npi", [None, "", "123456789", "12345678930", "123456789X", "1234567890", " 1234567893"])
def test_malformed_or_wrong_npis_fail_the_check(npi):
    assert not npi_valid(npi)


@settings(max_examples=300, deadline=None)
@given(first_nine=nine_digits)
def test_an_npi_completed_with_its_check_digit_is_always_valid(first_nine):
    assert npi_valid(first_nine + npi_check_digit(first_nine))


@settings(max_examples=300, deadline=None)
@given(first_nine=nine_digits, position=st.integers(0, 9), bump=st.integers(1, 9))
def test_changing_any_one_digit_of_a_valid_npi_makes_it_invalid(first_nine, position, bump):
    npi = first_nine + npi_check_digit(first_nine)
    changed = npi[:position] + str((int(npi[position]) + bump) % 10) + npi[position + 1:]
    assert not npi_valid(changed)


# --- modifiers -------------------------------------------------------------------------

@pytest.mark.parametrize("values, expected", [
    (("95, GT",), ("95", "GT")),
    (("95 GT",), ("95", "GT")),
    (("95/GT",), ("95", "GT")),
    (("95;gt",), ("95", "GT")),
    (("95|GT",), ("95", "GT")),
    (("95", None, "GT", ""), ("95", "GT")),
    ((95, "HQ"), ("95", "HQ")),
    ((95.0,), ("95",)),
    (("95", "95"), ("95",)),
    (("GT, 95", "HQ"), ("GT", "95", "HQ")),
    ((None, "", "  "), ()),
    ((), ()),
])
def test_modifiers_from_one_column_or_several_are_one_ordered_tuple(values, expected):
    assert parse_modifiers(*values) == expected


# --- never anything but ValueError -----------------------------------------------------

anything = st.one_of(
    st.text(),
    st.text(alphabet="0123456789:/-.,APMapm T"),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(value=anything)
@example("0000")
@example("99999")
@example("\x00")
@example("1e5")
@example("12/31/9999 25:61 PM")
def test_parse_date_of_anything_returns_a_date_or_raises_value_error(value):
    try:
        result = parse_date(value)
    except ValueError:
        return
    assert result is None or isinstance(result, dt.date)


@settings(max_examples=400, deadline=None)
@given(value=anything)
@example("2400")
@example("9:0")
@example("P")
@example("\x1c")
def test_parse_time_of_anything_returns_a_time_or_raises_value_error(value):
    try:
        result = parse_time(value)
    except ValueError:
        return
    assert result is None or isinstance(result, dt.time)


@settings(max_examples=400, deadline=None)
@given(value=st.one_of(st.text(), st.text(alphabet="0123456789:-–to APMapm")))
@example("9 - \x1c")
@example("Toronto - 5pm")
def test_parse_time_range_of_anything_returns_a_range_or_raises_value_error(value):
    try:
        start, end = parse_time_range(value)
    except ValueError:
        return
    assert start is None or isinstance(start, dt.time)
    assert end is None or isinstance(end, dt.time)
