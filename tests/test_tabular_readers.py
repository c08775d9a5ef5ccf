"""Charge exports and EHR attendance exports as real systems write them, read from real files."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from attendbot.errors import UnreadableFileError
from attendbot.model import Modality, NoteStatus, ReadResult, Status
from attendbot.readers import all_readers, identify
from attendbot.readers.charges import ChargeReader
from attendbot.readers.ehr import EhrAttendanceReader
from attendbot.readers.source import SourceFile
from attendbot.samples.tables import write_table_csv, write_table_xlsx

DAY = dt.date(2026, 11, 24)
SHOWN = "inbox/export"
TITLE = ["Riverbend Recovery IOP", "Scheduled Charges Report", "Run date: 11/24/2026 3:05 PM"]

# --- charge export fixtures ------------------------------------------------------------

CHARGE_COLUMNS = {
    "charge_id": "Charge ID", "service_date": "Date of Service", "patient_id": "MRN",
    "patient_name": "Patient Name", "payer": "Payer", "code": "CPT/HCPCS", "modifiers": "Modifiers",
    "units": "Units", "session": "Group", "start": "Start Time", "end": "End Time",
    "provider": "Rendering Provider", "npi": "Rendering NPI", "pos": "POS", "auth_number": "Auth #",
    "amount": "Amount",
}


def charge(n: int = 1, **values: Any) -> dict[str, Any]:
    row = {
        "charge_id": f"C-{1000 + n}", "service_date": "11/24/2026", "patient_id": f"M-{200 + n}",
        "patient_name": "Quinlan, Avery", "payer": "Medicaid", "code": "H0015", "modifiers": "",
        "units": "1", "session": "Morning Process Group", "start": "9:00 AM", "end": "12:00 PM",
        "provider": "Dana Whitfield", "npi": "1234567893", "pos": "11", "auth_number": "A-77",
        "amount": "150.00",
    }
    row.update(values)
    return row


def lay_out(records: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows for ``records`` (field -> value) under ``columns`` (field -> column name)."""
    fields = list(columns)
    return [columns[f] for f in fields], [[r.get(f) for f in fields] for r in records]


def charges_csv(path: Path, records: Sequence[Mapping[str, Any]], columns: Mapping[str, str] = CHARGE_COLUMNS,
                **kw: Any) -> Path:
    header, rows = lay_out(records, columns)
    return write_table_csv(path, header, rows, **kw)


def charges_xlsx(path: Path, records: Sequence[Mapping[str, Any]], columns: Mapping[str, str] = CHARGE_COLUMNS,
                 **kw: Any) -> Path:
    header, rows = lay_out(records, columns)
    return write_table_xlsx(path, header, rows, **kw)


# --- EHR export fixtures ---------------------------------------------------------------

EHR_COLUMNS = {
    "service_date": "Session Date", "patient_id": "MRN", "patient_name": "Client Name", "session": "Group",
    "status": "Attendance Status", "time_in": "Time In", "time_out": "Time Out", "note_status": "Note Status",
    "facilitator": "Facilitator", "modality": "Modality",
}


def visit(n: int = 1, **values: Any) -> dict[str, Any]:
    row = {
        "service_date": "11/24/2026", "patient_id": f"M-{200 + n}", "patient_name": "Avery Quinlan",
        "session": "Morning Process Group", "status": "Present", "time_in": "9:02 AM", "time_out": "12:00 PM",
        "note_status": "Signed", "facilitator": "Dana Whitfield", "modality": "In Person",
    }
    row.update(values)
    return row


def ehr_csv(path: Path, records: Sequence[Mapping[str, Any]], columns: Mapping[str, str] = EHR_COLUMNS,
            **kw: Any) -> Path:
    header, rows = lay_out(records, columns)
    return write_table_csv(path, header, rows, **kw)


def ehr_xlsx(path: Path, records: Sequence[Mapping[str, Any]], columns: Mapping[str, str] = EHR_COLUMNS,
             **kw: Any) -> Path:
    header, rows = lay_out(records, columns)
    return write_table_xlsx(path, header, rows, **kw)


# --- reading ---------------------------------------------------------------------------

def read_as(path: Path, kind: str, columns: Mapping[str, Mapping[str, Sequence[str]]] | None = None) -> ReadResult:
    """Identify ``path`` among all readers, check it is ``kind``, and read it."""
    src = SourceFile(path, shown=SHOWN)
    try:
        reader = identify(src, all_readers(lambda k: (columns or {}).get(k, {})))
        assert reader is not None, f"{path.name} was not identified"
        assert reader.kind == kind
        return reader.read(src)
    finally:
        src.close()


def read_charges(path: Path) -> ReadResult:
    return read_as(path, "charges")


def read_ehr(path: Path) -> ReadResult:
    return read_as(path, "ehr_attendance")


def delimited(path: Path, rows: Sequence[Sequence[Any]], delimiter: str, encoding: str = "utf-8") -> Path:
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


ACCENTED = [charge(1, patient_name="Núñez, María"), charge(2, patient_name="Peña, José"),
            charge(3, patient_name="Brontë, Zoë"), charge(4, patient_name="Ibáñez, Ángel")]


# --- encodings and separators ----------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "utf-16"])
def test_a_unicode_csv_with_or_without_bom_keeps_accented_names(tmp_path, encoding):
    result = read_charges(charges_csv(tmp_path / "c.csv", ACCENTED, encoding=encoding))
    assert result.problems == []
    assert [c.patient_name for c in result.charges] == ["Núñez, María", "Peña, José", "Brontë, Zoë", "Ibáñez, Ángel"]
    assert result.charges[0].charge_id == "C-1001"  # the BOM is not glued to the first header name


def test_a_cp1252_csv_is_identified_and_every_row_read(tmp_path):
    result = read_charges(charges_csv(tmp_path / "c.csv", ACCENTED, encoding="cp1252"))
    assert result.problems == []
    assert [c.charge_id for c in result.charges] == ["C-1001", "C-1002", "C-1003", "C-1004"]


def test_a_cp1252_csv_keeps_accented_names(tmp_path):
    result = read_charges(charges_csv(tmp_path / "c.csv", ACCENTED, encoding="cp1252"))
    assert [c.patient_name for c in result.charges] == ["Núñez, María", "Peña, José", "Brontë, Zoë", "Ibáñez, Ángel"]


@pytest.mark.parametrize("delimiter", ["\t", ";", "|", ","])
def test_tab_semicolon_pipe_and_comma_separated_exports_are_read(tmp_path, delimiter):
    header, rows = lay_out([charge(1, patient_name="Núñez, María"), charge(2)], CHARGE_COLUMNS)
    result = read_charges(delimited(tmp_path / "c.txt", [header, *rows], delimiter))
    assert result.problems == []
    assert [(c.charge_id, c.patient_name) for c in result.charges] == [
        ("C-1001", "Núñez, María"), ("C-1002", "Quinlan, Avery")]


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_tab_and_semicolon_separated_exports_with_title_lines_are_read(tmp_path, delimiter):
    header, rows = lay_out([charge(1), charge(2), charge(3)], CHARGE_COLUMNS)
    path = delimited(tmp_path / "c.txt", [[TITLE[0]], [TITLE[2]], [], header, *rows], delimiter)
    assert [c.charge_id for c in read_charges(path).charges] == ["C-1001", "C-1002", "C-1003"]


# --- title lines, blank rows, where the table sits -------------------------------------

def test_title_lines_and_blank_rows_above_the_header_are_skipped_in_a_csv(tmp_path):
    header, rows = lay_out([charge(1), charge(2)], CHARGE_COLUMNS)
    path = tmp_path / "c.csv"
    delimited(path, [[TITLE[0]], [TITLE[1]], [], [TITLE[2]], [], [], header, *rows], ",")
    result = read_charges(path)
    assert [c.charge_id for c in result.charges] == ["C-1001", "C-1002"]
    assert result.charges[0].evidence.row == 8  # the CSV line the row is on


def test_title_lines_and_blank_rows_above_the_header_are_skipped_in_a_workbook(tmp_path):
    result = read_charges(charges_xlsx(tmp_path / "c.xlsx", [charge(1), charge(2)], title=TITLE))
    assert [c.charge_id for c in result.charges] == ["C-1001", "C-1002"]
    assert [c.evidence.row for c in result.charges] == [6, 7]  # 3 title lines, a blank row, the header
    assert result.charges[0].evidence.sheet == "Report"


def test_a_table_that_starts_in_column_c_below_a_title_is_found(tmp_path):
    header, rows = lay_out([charge(1)], CHARGE_COLUMNS)
    wb = Workbook()
    ws = wb.active
    ws.append(["Scheduled charges"])
    ws.append([])
    ws.append([None, None, *header])
    ws.append([None, None, *rows[0]])
    wb.save(tmp_path / "c.xlsx")
    result = read_charges(tmp_path / "c.xlsx")
    assert [(c.charge_id, c.patient_id) for c in result.charges] == [("C-1001", "M-201")]


def test_the_table_is_found_on_a_later_worksheet(tmp_path):
    header, rows = lay_out([charge(1)], CHARGE_COLUMNS)
    wb = Workbook()
    wb.active.title = "Parameters"
    wb.active.append(["From", "11/24/2026"])
    data = wb.create_sheet("Charges")
    data.append(header)
    data.append(rows[0])
    wb.save(tmp_path / "c.xlsx")
    result = read_charges(tmp_path / "c.xlsx")
    assert [c.charge_id for c in result.charges] == ["C-1001"]
    assert result.charges[0].evidence.sheet == "Charges"
    assert result.charges[0].evidence.row == 2


# --- header synonyms -------------------------------------------------------------------

SYNONYM_SETS = {
    "spec names A": ["Charge #", "DOS", "Patient ID", "Client Name", "Insurance", "HCPCS", "Qty", "Group Name"],
    "spec names B": ["CHARGE NO", "Service Date", "Chart #", "Patient", "Primary Payer", "Procedure Code",
                     "Quantity", "Session"],
    "spec names C": ["Line ID", "Date of Service", "Client ID", "Client", "Plan", "CPT", "Units", "Program"],
    "spec names D": ["Claim Line ID", "date of service", "MRN", "Patient Name", "Payer", "CPT/HCPCS", "UNITS", "Group"],
    "case and punctuation": ["charge_id", " Date-of-Service ", "m.r.n.", "PATIENT   NAME", "payer:", "cpt / hcpcs",
                             "units", "GROUP-NAME"],
    "charge number spelled out": ["Charge Number", "D.O.S.", "Chart No", "client name", "INSURANCE", "Procedure",
                                  "qty.", "session"],
}


@pytest.mark.parametrize("names", SYNONYM_SETS.values(), ids=SYNONYM_SETS.keys())
def test_header_synonyms_are_matched_whatever_their_case_and_punctuation(tmp_path, names):
    fields = ["charge_id", "service_date", "patient_id", "patient_name", "payer", "code", "units", "session"]
    header = dict(zip(fields, names))
    result = read_charges(charges_csv(tmp_path / "c.csv", [charge(1), charge(2, code="h2019", units="4")], header,
                                      title=TITLE[:1]))
    assert result.problems == []
    assert [(c.charge_id, c.service_date, c.patient_id, c.code, c.units, c.session) for c in result.charges] == [
        ("C-1001", DAY, "M-201", "H0015", 1, "Morning Process Group"),
        ("C-1002", DAY, "M-202", "H2019", 4, "Morning Process Group"),
    ]


def test_date_of_service_beats_a_plain_date_column_in_the_same_export(tmp_path):
    columns = {**CHARGE_COLUMNS, "posted": "Date"}
    result = read_charges(charges_csv(tmp_path / "c.csv", [charge(1, posted="12/01/2026")], columns))
    assert result.charges[0].service_date == DAY


def test_modifier_1_to_4_columns_are_combined_in_order(tmp_path):
    columns = {k: v for k, v in CHARGE_COLUMNS.items() if k != "modifiers"}
    columns |= {"m1": "Modifier 1", "m2": "Modifier 2", "m3": "Modifier 3", "m4": "Modifier 4"}
    records = [charge(1, m1="95", m2="", m3="HQ", m4="gt"), charge(2, m1="", m2="", m3="", m4=""),
               charge(3, m1="HQ", m2="HQ")]
    result = read_charges(charges_csv(tmp_path / "c.csv", records, columns))
    assert [c.modifiers for c in result.charges] == [("95", "HQ", "GT"), (), ("HQ",)]


def test_modifier_number_cells_in_a_workbook_are_text(tmp_path):
    columns = {k: v for k, v in CHARGE_COLUMNS.items() if k != "modifiers"} | {"m1": "Mod 1", "m2": "Mod 2"}
    result = read_charges(charges_xlsx(tmp_path / "c.xlsx", [charge(1, m1=95, m2="HQ")], columns))
    assert result.charges[0].modifiers == ("95", "HQ")


@pytest.mark.parametrize("written, expected", [("95, GT", ("95", "GT")), ("95 GT", ("95", "GT")),
                                               ("95/GT", ("95", "GT")), ("", ())])
def test_one_modifiers_column_may_hold_several(tmp_path, written, expected):
    result = read_charges(charges_csv(tmp_path / "c.csv", [charge(1, modifiers=written)]))
    assert result.charges[0].modifiers == expected


@pytest.mark.parametrize("column", ["Rev Code", "Revenue Code", "UB Rev", "REV-CODE"])
def test_the_revenue_code_column_is_read_by_its_synonyms(tmp_path, column):
    columns = {**CHARGE_COLUMNS, "revenue_code": column}
    result = read_charges(charges_csv(tmp_path / "c.csv", [charge(1, revenue_code="0906"), charge(2, revenue_code="")],
                                      columns))
    assert [c.revenue_code for c in result.charges] == ["0906", None]


def test_a_revenue_code_excel_stored_as_a_number_keeps_its_leading_zero(tmp_path):
    columns = {**CHARGE_COLUMNS, "revenue_code": "Rev Code"}
    result = read_charges(charges_xlsx(tmp_path / "c.xlsx", [charge(1, revenue_code=906), charge(2, revenue_code="0905")],
                                       columns))
    assert [c.revenue_code for c in result.charges] == ["0906", "0905"]


def test_an_export_without_a_revenue_code_column_has_none(tmp_path):
    result = read_charges(charges_csv(tmp_path / "c.csv", [charge(1)]))
    assert result.charges[0].revenue_code is None


# --- [columns.charges] ----------------------------------------------------------------

ACCT_COLUMNS = {**CHARGE_COLUMNS, "patient_id": "Acct No"}


def test_an_export_with_an_unknown_patient_id_column_is_not_identified(tmp_path):
    src = SourceFile(charges_csv(tmp_path / "c.csv", [charge(1)], ACCT_COLUMNS))
    assert identify(src, all_readers()) is None
    assert not ChargeReader().identify(src)


@pytest.mark.parametrize("spelling", ["Acct No", "ACCT #", "acct. number", "Acct-No"])
def test_config_column_names_make_an_unrecognised_export_readable(tmp_path, spelling):
    path = charges_csv(tmp_path / "c.csv", [charge(1), charge(2)], {**CHARGE_COLUMNS, "patient_id": spelling})
    src = SourceFile(path)
    reader = ChargeReader({"patient_id": ["Acct No"]})
    assert reader.identify(src)
    assert [c.patient_id for c in reader.read(src).charges] == ["M-201", "M-202"]
    result = read_as(path, "charges", {"charges": {"patient_id": ["Acct No"]}})
    assert [c.patient_id for c in result.charges] == ["M-201", "M-202"]


def test_config_column_names_for_charges_do_not_apply_to_other_kinds(tmp_path):
    path = ehr_csv(tmp_path / "e.csv", [visit(1)], {**EHR_COLUMNS, "patient_id": "Acct No"})
    src = SourceFile(path)
    assert identify(src, all_readers(lambda k: {"patient_id": ["Acct No"]} if k == "charges" else {})) is None
    reader = identify(src, all_readers(lambda k: {"patient_id": ["Acct No"]} if k == "ehr_attendance" else {}))
    assert reader is not None and reader.kind == "ehr_attendance"


def test_a_config_name_outranks_a_built_in_synonym(tmp_path):
    columns = {**CHARGE_COLUMNS, "other_id": "Patient ID"}
    path = charges_csv(tmp_path / "c.csv", [charge(1, other_id="EXT-9")], columns)
    assert read_charges(path).charges[0].patient_id == "M-201"  # MRN comes before Patient ID in the synonyms
    result = read_as(path, "charges", {"charges": {"patient_id": ["Patient ID"]}})
    assert result.charges[0].patient_id == "EXT-9"


# --- dates and times in every form -----------------------------------------------------

@pytest.mark.parametrize("written", ["11/24/2026", "2026-11-24", "11/24/26", "24-Nov-2026", "Nov 24, 2026",
                                     "11/24/2026 12:00:00 AM", "2026-11-24 00:00:00", "46350"])
def test_a_service_date_written_as_text_is_read_in_a_csv(tmp_path, written):
    result = read_charges(charges_csv(tmp_path / "c.csv", [charge(1, service_date=written)]))
    assert result.problems == []
    assert result.charges[0].service_date == DAY


@pytest.mark.parametrize("cell", [DAY, dt.datetime(2026, 11, 24), dt.datetime(2026, 11, 24, 9, 0), "11/24/2026",
                                  46350])
def test_a_service_date_in_an_excel_date_or_datetime_cell_is_read(tmp_path, cell):
    result = read_charges(charges_xlsx(tmp_path / "c.xlsx", [charge(1, service_date=cell)]))
    assert result.problems == []
    assert result.charges[0].service_date == DAY


@pytest.mark.parametrize("start, end", [("9:00 AM", "12:00 PM"), ("09:00", "12:00"), ("0900", "1200"),
                                        ("9:00:00 AM", "12:00:00 PM"), ("9am", "12pm")])
def test_scheduled_times_written_as_text_are_read(tmp_path, start, end):
    result = read_charges(charges_csv(tmp_path / "c.csv", [charge(1, start=start, end=end)]))
    assert (result.charges[0].start, result.charges[0].end) == (dt.time(9, 0), dt.time(12, 0))


@pytest.mark.parametrize("start, end", [(dt.time(9, 0), dt.time(12, 0)),
                                        (dt.datetime(2026, 11, 24, 9, 0), dt.datetime(2026, 11, 24, 12, 0)),
                                        ("9:00 AM", "12:00 PM"), ("0900", "1200")])
def test_scheduled_times_in_excel_time_cells_are_read(tmp_path, start, end):
    result = read_charges(charges_xlsx(tmp_path / "c.xlsx", [charge(1, start=start, end=end)]))
    assert (result.charges[0].start, result.charges[0].end) == (dt.time(9, 0), dt.time(12, 0))


def test_ehr_times_in_excel_cells_and_text_are_read_alike(tmp_path):
    records = [visit(1, time_in=dt.time(9, 2), time_out=dt.time(11, 45), service_date=DAY),
               visit(2, time_in=dt.datetime(2026, 11, 24, 9, 2), time_out=dt.datetime(2026, 11, 24, 11, 45),
                     service_date=dt.datetime(2026, 11, 24)),
               visit(3, time_in="0902", time_out="1145"),
               visit(4, time_in="9:02 AM", time_out="11:45 AM", service_date="2026-11-24")]
    result = read_ehr(ehr_xlsx(tmp_path / "e.xlsx", records, title=TITLE))
    assert result.problems == []
    assert {(a.service_date, a.time_in, a.time_out) for a in result.attendance} == {(DAY, dt.time(9, 2), dt.time(11, 45))}


# --- codes, ids and numbers stay text --------------------------------------------------

def test_numbers_stored_by_excel_come_back_as_the_text_people_typed(tmp_path):
    records = [charge(1, code=90853, patient_id="004821", npi=1234567893, pos=2, units=1, amount=150,
                      charge_id=1001, auth_number=778812),
               charge(2, code=90853.0, patient_id=4822, pos=11.0, units=2.0, amount=75.5, charge_id=1002.0)]
    result = read_charges(charges_xlsx(tmp_path / "c.xlsx", records))
    assert result.problems == []
    first, second = result.charges
    assert (first.code, first.patient_id, first.npi, first.pos, first.units, first.charge_id, first.auth_number) == (
        "90853", "004821", "1234567893", "02", 1, "1001", "778812")
    assert (second.code, second.patient_id, second.pos, second.units, second.charge_id) == (
        "90853", "4822", "11", 2, "1002")
    assert first.amount == 150.0 and second.amount == 75.5


def test_a_csv_keeps_leading_zeros_and_writes_pos_with_two_digits(tmp_path):
    records = [charge(1, patient_id="004821", pos="2", npi="1234567893", code="90853"),
               charge(2, patient_id="0000017", pos="02", npi=" 1234 567 893 ", code="h2019")]
    result = read_charges(charges_csv(tmp_path / "c.csv", records))
    assert [(c.patient_id, c.pos, c.npi, c.code) for c in result.charges] == [
        ("004821", "02", "1234567893", "90853"), ("0000017", "02", "1234567893", "H2019")]


@pytest.mark.parametrize("written, expected", [("$1,250.00", 1250.0), ("150", 150.0), ("(50.00)", -50.0),
                                               ("", None)])
def test_amounts_are_read_with_currency_signs_and_thousands(tmp_path, written, expected):
    result = read_charges(charges_csv(tmp_path / "c.csv", [charge(1, amount=written)]))
    assert result.charges[0].amount == expected


def test_optional_columns_may_be_missing_altogether(tmp_path):
    required = ["charge_id", "service_date", "patient_id", "patient_name", "payer", "code", "units", "session"]
    columns = {k: CHARGE_COLUMNS[k] for k in required}
    result = read_charges(charges_csv(tmp_path / "c.csv", [charge(1)], columns))
    c = result.charges[0]
    assert (c.modifiers, c.start, c.end, c.provider, c.npi, c.pos, c.auth_number, c.amount) == (
        (), None, None, None, None, None, None, None)


def test_whitespace_inside_names_and_sessions_is_tidied(tmp_path):
    result = read_charges(charges_csv(tmp_path / "c.csv", [charge(1, patient_name=" Quinlan,  Avery ",
                                                                  session="Morning   Process Group ")]))
    assert (result.charges[0].patient_name, result.charges[0].session) == ("Quinlan, Avery", "Morning Process Group")


# --- every day, every row --------------------------------------------------------------

def test_rows_for_several_days_are_all_returned(tmp_path):
    days = [DAY - dt.timedelta(days=1), DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)]
    records = [charge(i, service_date=d.strftime("%m/%d/%Y")) for i, d in enumerate(days, 1)]
    result = read_charges(charges_csv(tmp_path / "c.csv", records))
    assert [c.service_date for c in result.charges] == days
    assert result.days == set(days)


def test_ehr_rows_for_several_days_are_all_returned(tmp_path):
    days = [DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=7)]
    result = read_ehr(ehr_xlsx(tmp_path / "e.xlsx", [visit(i, service_date=d) for i, d in enumerate(days, 1)]))
    assert [a.service_date for a in result.attendance] == days


BAD_CHARGES = [
    ("an unparseable date", dict(service_date="31/31/2026")),
    ("a blank charge id", dict(charge_id="")),
    ("a blank patient id", dict(patient_id="  ")),
    ("a blank payer", dict(payer="")),
    ("a blank code", dict(code="")),
    ("units that are not a number", dict(units="one")),
    ("blank units", dict(units="")),
    ("fractional units", dict(units="1.5")),
    ("an unreadable start time", dict(start="morning")),
    ("a blank session", dict(session="")),
    ("a blank date", dict(service_date="")),
]


@pytest.mark.parametrize("what, values", BAD_CHARGES, ids=[w for w, _ in BAD_CHARGES])
def test_a_row_that_cannot_be_used_becomes_a_problem_with_file_and_row(tmp_path, what, values):
    records = [charge(1), charge(2, **values), charge(3)]
    result = read_charges(charges_csv(tmp_path / "c.csv", records, title=TITLE))
    assert [c.charge_id for c in result.charges] == ["C-1001", "C-1003"]
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.evidence.file == SHOWN
    assert problem.evidence.row == 7  # 3 title lines, a blank, the header, C-1001, then this one
    assert "row 7" in problem.message


def test_no_row_is_dropped_silently_records_plus_problems_equal_the_data_rows(tmp_path):
    records = [charge(1), charge(2, service_date="someday"), {}, charge(3, patient_id=""),
               charge(4, units="x"), {}, {}, charge(5), charge(6, code=None, payer=None),
               {"charge_id": "TOTAL", "amount": "$600.00"}, charge(7, service_date="12/01/2026")]
    result = read_charges(charges_csv(tmp_path / "c.csv", records, title=TITLE))
    non_blank = sum(1 for r in records if any(v not in (None, "") for v in r.values()))
    assert len(result.charges) + len(result.problems) == non_blank == 8
    assert [c.charge_id for c in result.charges] == ["C-1001", "C-1005", "C-1007"]
    assert all(p.evidence.file == SHOWN and p.evidence.row for p in result.problems)


def test_a_short_ragged_row_is_a_problem_not_a_crash(tmp_path):
    header, rows = lay_out([charge(1)], CHARGE_COLUMNS)
    path = delimited(tmp_path / "c.csv", [header, rows[0], ["C-1002", "11/24/2026"]], ",")
    result = read_charges(path)
    assert [c.charge_id for c in result.charges] == ["C-1001"]
    assert [p.evidence.row for p in result.problems] == [3]


def test_problems_in_a_workbook_name_the_sheet_and_excel_row(tmp_path):
    result = read_charges(charges_xlsx(tmp_path / "c.xlsx", [charge(1), charge(2, service_date="not a date")],
                                       title=TITLE, sheet="Charges Nov"))
    assert [(p.evidence.file, p.evidence.sheet, p.evidence.row) for p in result.problems] == [
        (SHOWN, "Charges Nov", 7)]


def test_a_repeated_header_row_mid_file_is_skipped(tmp_path):
    header, rows = lay_out([charge(1), charge(2), charge(3), charge(4)], CHARGE_COLUMNS)
    path = delimited(tmp_path / "c.csv", [[TITLE[0]], [], header, rows[0], rows[1], [], [TITLE[0]], header,
                                          rows[2], rows[3]], ",")
    result = read_charges(path)
    assert [c.charge_id for c in result.charges] == ["C-1001", "C-1002", "C-1003", "C-1004"]
    # the repeated title line is a row that cannot be used: reported, not dropped
    assert [p.evidence.row for p in result.problems] == [7]


def test_a_repeated_header_row_in_a_workbook_is_skipped(tmp_path):
    header, rows = lay_out([charge(1), charge(2)], CHARGE_COLUMNS)
    path = tmp_path / "c.xlsx"
    header_again = [h.upper() for h in header]  # matched like the header, whatever its case
    wb = Workbook()
    ws = wb.active
    for r in (header, rows[0], header_again, rows[1]):
        ws.append(r)
    wb.save(path)
    result = read_charges(path)
    assert [c.charge_id for c in result.charges] == ["C-1001", "C-1002"]
    assert result.problems == []


# --- EHR words -------------------------------------------------------------------------

STATUS_WORDS = {
    "Present": Status.PRESENT, "Attended": Status.PRESENT, "Late": Status.PRESENT, "Left Early": Status.PRESENT,
    "PRESENT": Status.PRESENT, "left early": Status.PRESENT,
    "Absent": Status.NO_SHOW, "No Show": Status.NO_SHOW, "No-Show": Status.NO_SHOW, "NS": Status.NO_SHOW,
    "no show": Status.NO_SHOW, "NoShow": Status.NO_SHOW,
    "Late Cancel": Status.CANCELLED, "Cancelled": Status.CANCELLED, "Canceled": Status.CANCELLED,
    "Late-Cancel": Status.CANCELLED, "Late Cancellation": Status.CANCELLED,
    "Excused": Status.EXCUSED, "Excused Absence": Status.EXCUSED, "EXCUSED": Status.EXCUSED,
}


def test_every_ehr_status_word_of_the_spec_is_read(tmp_path):
    records = [visit(i, status=w) for i, w in enumerate(STATUS_WORDS, 1)]
    result = read_ehr(ehr_csv(tmp_path / "e.csv", records))
    assert result.problems == []
    assert [a.status for a in result.attendance] == list(STATUS_WORDS.values())


NOTE_WORDS = {
    "Signed": NoteStatus.SIGNED, "Final": NoteStatus.SIGNED, "Locked": NoteStatus.SIGNED,
    "Completed": NoteStatus.SIGNED, "SIGNED": NoteStatus.SIGNED,
    "Draft": NoteStatus.UNSIGNED, "Unsigned": NoteStatus.UNSIGNED, "Pending": NoteStatus.UNSIGNED,
    "In Progress": NoteStatus.UNSIGNED, "in-progress": NoteStatus.UNSIGNED, "": NoteStatus.UNSIGNED,
}


def test_every_note_status_word_of_the_spec_is_read_and_a_blank_is_unsigned(tmp_path):
    records = [visit(i, note_status=w) for i, w in enumerate(NOTE_WORDS, 1)]
    result = read_ehr(ehr_csv(tmp_path / "e.csv", records))
    assert result.problems == []
    assert [a.note_status for a in result.attendance] == list(NOTE_WORDS.values())


def test_an_export_without_a_note_status_column_has_no_note_status(tmp_path):
    columns = {k: v for k, v in EHR_COLUMNS.items() if k != "note_status"}
    result = read_ehr(ehr_csv(tmp_path / "e.csv", [visit(1)], columns))
    assert result.attendance[0].note_status is None


MODALITY_WORDS = {
    "Video": Modality.VIDEO, "Telehealth": Modality.VIDEO, "Virtual": Modality.VIDEO, "Telehealth - Video": Modality.VIDEO,
    "Phone": Modality.AUDIO, "Audio-Only": Modality.AUDIO, "audio only": Modality.AUDIO, "Telephone": Modality.AUDIO,
    "Telehealth (Audio Only)": Modality.AUDIO,
    "In Person": Modality.IN_PERSON, "In-Person": Modality.IN_PERSON, "Office": Modality.IN_PERSON, "": None,
}


def test_modality_words_read_as_video_audio_or_in_person(tmp_path):
    records = [visit(i, modality=w) for i, w in enumerate(MODALITY_WORDS, 1)]
    result = read_ehr(ehr_csv(tmp_path / "e.csv", records))
    assert result.problems == []
    assert [a.modality for a in result.attendance] == list(MODALITY_WORDS.values())


@pytest.mark.parametrize("values", [dict(status="Maybe"), dict(note_status="Shredded"), dict(modality="Carrier pigeon"),
                                    dict(service_date="Tuesday-ish"), dict(patient_id=""), dict(session=""),
                                    dict(time_in="after lunch")])
def test_an_ehr_row_with_an_unknown_word_or_blank_required_field_is_a_problem(tmp_path, values):
    records = [visit(1), visit(2, **values), visit(3)]
    result = read_ehr(ehr_csv(tmp_path / "e.csv", records, title=TITLE[:1]))
    assert [a.patient_id for a in result.attendance] == ["M-201", "M-203"]
    assert [(p.evidence.file, p.evidence.row) for p in result.problems] == [(SHOWN, 5)]


def test_ehr_optional_fields_are_read(tmp_path):
    result = read_ehr(ehr_csv(tmp_path / "e.csv", [visit(1, patient_name="Núñez, María")]))
    a = result.attendance[0]
    assert (a.patient_id, a.patient_name, a.session, a.facilitator) == (
        "M-201", "Núñez, María", "Morning Process Group", "Dana Whitfield")
    assert (a.time_in, a.time_out) == (dt.time(9, 2), dt.time(12, 0))


EHR_SYNONYMS = {
    "spec names A": ["Date", "Patient ID", "Patient", "Group Name", "Status", "Check In", "Check Out",
                     "Documentation Status", "Staff", "Service Mode"],
    "spec names B": ["Date of Service", "Client ID", "Client Name", "Session", "Attendance", "Arrived", "Departed",
                     "Note Status", "Clinician", "Location Type"],
    "case and punctuation": ["SESSION-DATE", "mrn", "client  name", "group", "attendance_status", "time-in",
                             "TIME OUT", "note status:", "FACILITATOR", "modality"],
}


@pytest.mark.parametrize("names", EHR_SYNONYMS.values(), ids=EHR_SYNONYMS.keys())
def test_ehr_header_synonyms_are_matched(tmp_path, names):
    columns = dict(zip(EHR_COLUMNS, names))
    result = read_ehr(ehr_csv(tmp_path / "e.csv", [visit(1, status="No Show", note_status="Draft", modality="Video")],
                              columns, title=TITLE))
    assert result.problems == []
    a = result.attendance[0]
    assert (a.service_date, a.patient_id, a.session, a.status, a.note_status, a.modality, a.facilitator) == (
        DAY, "M-201", "Morning Process Group", Status.NO_SHOW, NoteStatus.UNSIGNED, Modality.VIDEO, "Dana Whitfield")
    assert (a.time_in, a.time_out) == (dt.time(9, 2), dt.time(12, 0))


# --- which reader claims a file --------------------------------------------------------

def test_a_charge_export_with_a_claim_status_column_is_identified_as_charges_only(tmp_path):
    columns = {**CHARGE_COLUMNS, "claim_status": "Status"}
    records = [charge(1, claim_status="Open"), charge(2, claim_status="Billed"), charge(3, claim_status="Open")]
    for path in (charges_csv(tmp_path / "c.csv", records, columns), charges_xlsx(tmp_path / "c.xlsx", records, columns)):
        src = SourceFile(path)
        assert not EhrAttendanceReader().identify(src)
        assert ChargeReader().identify(src)
        assert identify(src, all_readers()).kind == "charges"


@pytest.mark.parametrize("claim_status", ["Cancelled", "Completed"])
def test_a_charge_export_whose_claim_status_is_also_an_attendance_word_is_still_charges(tmp_path, claim_status):
    columns = {**CHARGE_COLUMNS, "claim_status": "Status"}
    records = [charge(1, claim_status="Open"), charge(2, claim_status="Billed"), charge(3, claim_status=claim_status)]
    src = SourceFile(charges_csv(tmp_path / "c.csv", records, columns))
    assert identify(src, all_readers()).kind == "charges"


def test_an_ehr_export_is_identified_as_ehr_attendance_only(tmp_path):
    for path in (ehr_csv(tmp_path / "e.csv", [visit(1), visit(2, status="NS")]),
                 ehr_xlsx(tmp_path / "e.xlsx", [visit(1), visit(2, status="Absent")], title=TITLE)):
        src = SourceFile(path)
        assert not ChargeReader().identify(src)
        assert identify(src, all_readers()).kind == "ehr_attendance"


def test_a_charge_export_is_not_claimed_by_the_ehr_reader_and_vice_versa(tmp_path):
    charges = SourceFile(charges_csv(tmp_path / "c.csv", [charge(1)]))
    ehr = SourceFile(ehr_csv(tmp_path / "e.csv", [visit(1)]))
    assert ChargeReader().identify(charges) and not EhrAttendanceReader().identify(charges)
    assert EhrAttendanceReader().identify(ehr) and not ChargeReader().identify(ehr)
    assert ChargeReader().read(ehr) == ReadResult()


@pytest.mark.parametrize("header, rows", [
    (["Date", "Amount", "Description"], [["11/24/2026", "12.50", "Coffee"]]),
    (["Employee", "Hours", "Week"], [["Dana Whitfield", "40", "47"]]),
    (["MRN", "Patient Name", "Group"], [["M-201", "Avery Quinlan", "Morning"]]),  # required columns missing
])
def test_a_csv_that_is_neither_export_is_identified_as_nothing(tmp_path, header, rows):
    src = SourceFile(write_table_csv(tmp_path / "other.csv", header, rows, title=TITLE))
    assert identify(src, all_readers()) is None


def test_a_csv_with_an_ehr_header_but_no_status_words_is_not_claimed(tmp_path):
    src = SourceFile(ehr_csv(tmp_path / "e.csv", [visit(1, status="Open"), visit(2, status="Billed")]))
    assert identify(src, all_readers()) is None


def test_identification_looks_at_content_not_at_the_file_name(tmp_path):
    path = charges_csv(tmp_path / "attendance_signin_sheet.pdf", [charge(1)])
    assert identify(SourceFile(path), all_readers()).kind == "charges"


# --- files nobody can read -------------------------------------------------------------

@pytest.mark.parametrize("name", ["charges.xlsx", "charges.xls", "export.csv"])
def test_an_encrypted_workbook_is_unreadable_whatever_its_name(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 40)
    with pytest.raises(UnreadableFileError):
        identify(SourceFile(path), all_readers())


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, -1])
def test_a_truncated_workbook_is_unreadable(tmp_path, keep):
    data = charges_xlsx(tmp_path / "full.xlsx", [charge(i) for i in range(1, 30)], title=TITLE).read_bytes()
    cut = len(data) - 1 if keep == -1 else int(len(data) * keep)
    path = tmp_path / "charges.xlsx"
    path.write_bytes(data[:cut])
    with pytest.raises(UnreadableFileError):
        identify(SourceFile(path), all_readers())


@pytest.mark.parametrize("content", [b"", b"   \r\n\r\n  "])
def test_an_empty_file_is_unreadable(tmp_path, content):
    path = tmp_path / "charges.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFileError):
        identify(SourceFile(path), all_readers())
