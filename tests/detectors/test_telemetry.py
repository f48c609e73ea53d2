"""tinyad.detectors.telemetry: reading files (encodings, time columns, notes, errors)."""

import numpy as np

import pytest

from tinyad.csvfile import sniff_separator
from tinyad.errors import InputError
from tinyad.detectors.sampling import sampling_notes
from tinyad.detectors.telemetry import close_column_matches, load_telemetry, unused_columns_note
from tinyad.timestamps import time_stamps


def test_a_one_column_csv_loads_its_column_by_name(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("value\n1.0\n2.0\n3.5\n")
    data = load_telemetry(path)
    assert data.columns == ["value"] and data.values.ravel().tolist() == [1.0, 2.0, 3.5]


def test_a_spreadsheet_export_with_decimal_commas_and_dotted_dates_reads_as_numbers_and_times(tmp_path):
    path = tmp_path / "euro.csv"
    path.write_text("Zeit;Druck;Status\n12.03.2024 10:00;6,25;an\n13.03.2024 10:00;-1,5e2;an\n"
                    "14.03.2024 10:00;7;an\n")
    data = load_telemetry(path, columns=["Druck"], time_column="Zeit")
    assert data.values[:, 0].tolist() == [6.25, -150.0, 7.0]
    # day first (12 March, not 3 December): one day apart, in order
    assert time_stamps(data.time)[0].tolist() == np.array(["2024-03-12T10:00", "2024-03-13T10:00",
                                                           "2024-03-14T10:00"], "datetime64[ns]").tolist()
    # with ',' separators a comma inside a quoted number is a thousands separator: left to the error
    quoted = tmp_path / "us.csv"
    quoted.write_text('t,value\n0,"1,5"\n1,2\n')
    with pytest.raises(InputError, match="data row 1, column 'value': missing, non-numeric or NaN"):
        load_telemetry(quoted, columns=["value"], time_column="t")


def test_digits_grouped_by_points_are_refused_not_read_a_thousandfold_smaller(tmp_path):
    path = tmp_path / "de.csv"
    # beside decimal commas, pandas reads "1.002" (1002 with a German thousands mark) as 1.002
    path.write_text("Zeit;Druck;Temp\n12.03.2024 10:00;998;6,5\n12.03.2024 10:01;1.002;6,6\n")
    with pytest.raises(InputError) as ambiguous:
        load_telemetry(path, guess_time=True)
    assert str(ambiguous.value) == (f"{path}: column 'Druck' holds '1.002' in a file with decimal commas (column "
                                    "'Temp'): is '.' a thousands mark there or a decimal point?")
    assert "no 1000 separator" in ambiguous.value.hint
    # with a decimal comma after it, the point can only group thousands
    path.write_text("Zeit;Druck\n12.03.2024 10:00;998,5\n12.03.2024 10:01;1.002,5\n")
    with pytest.raises(InputError, match="column 'Druck' holds '1.002,5', a number with a thousands mark"):
        load_telemetry(path, guess_time=True)
    # a file of decimal points keeps its 3-place decimals, and points beside commas that group nothing stay points
    path.write_text("Zeit;Druck;Temp\n12.03.2024 10:00;1.500;6.5\n12.03.2024 10:01;2.250;6.6\n")
    assert load_telemetry(path, guess_time=True).values.tolist() == [[1.5, 6.5], [2.25, 6.6]]
    path.write_text("Zeit;Druck;Temp\n12.03.2024 10:00;1.5;6,5\n12.03.2024 10:01;2.5;6,6\n")
    assert load_telemetry(path, guess_time=True).values.tolist() == [[1.5, 6.5], [2.5, 6.6]]


# --- a pump historian export from a German water utility: what the reader tells and asks -----------------------

def test_a_windows_1252_csv_from_excel_reads_as_cp1252_with_a_note(tmp_path):
    excel = tmp_path / "pumpe.csv"  # Excel's "CSV (Trennzeichen-getrennt)": cp1252, ';' and decimal commas
    excel.write_bytes("Zeitstempel;Temperatur °C;Druck\n11.03.2024 00:00;21,5;1\n11.03.2024 00:01;21,6;2\n"
                      .encode("cp1252"))
    assert sniff_separator(excel) == ";"
    data = load_telemetry(excel, time_column="Zeitstempel")
    assert data.columns == ["Temperatur °C", "Druck"] and data.values.tolist() == [[21.5, 1.0], [21.6, 2.0]]
    assert data.notes == ["not UTF-8 text: 1 byte(s) read as Windows-1252 (cp1252), as Excel writes in Western "
                          "Europe"]
    # UTF-8 with one line typed in a Windows editor: its UTF-8 characters stay as written, not "Â°C"
    mixed = tmp_path / "gemischt.csv"
    mixed.write_bytes("Zeitstempel;Temperatur °C;Bemerkung\n11.03.2024 00:00;21,5;Lüfter\n".encode("utf-8")
                      + "11.03.2024 00:01;21,6;Lüfter\n".encode("cp1252"))
    data = load_telemetry(mixed, columns=["Temperatur °C"], time_column="Zeitstempel")
    assert data.values[:, 0].tolist() == [21.5, 21.6]
    assert data.notes == ["not UTF-8 text: 1 byte(s) read as Windows-1252 (cp1252), as Excel writes in Western "
                          "Europe; the rest is UTF-8", "columns not used by the detector: Bemerkung"]
    # UTF-8, with Excel's byte-order mark or without one: nothing to tell
    for name, encoding in (("bom.csv", "utf-8-sig"), ("plain.csv", "utf-8")):
        utf8 = tmp_path / name
        utf8.write_bytes("Temperatur °C,Druck\n21.5,1\n".encode(encoding))
        data = load_telemetry(utf8)
        assert data.columns == ["Temperatur °C", "Druck"] and data.notes == []
    # 0x81 is neither UTF-8 nor Windows-1252: named as an encoding problem, not as a truncated file
    neither = tmp_path / "neither.csv"
    neither.write_bytes(b"a,b\n1,\x81\n")
    with pytest.raises(InputError) as refused:
        load_telemetry(neither)
    assert str(refused.value).startswith(f"{neither}: not UTF-8 or Windows-1252 text ('utf-8' codec can't decode "
                                         "byte 0x81")
    assert refused.value.hint == 'save the file as UTF-8 text (in Excel: Save As, "CSV UTF-8")'


def test_a_label_column_asked_for_and_missing_is_refused_with_the_way_to_read_unlabelled_files(tmp_path):
    unlabelled = tmp_path / "plant.csv"
    unlabelled.write_text("time,flow\n1,1.0\n2,2.0\n")
    with pytest.raises(InputError) as err:
        load_telemetry(unlabelled, ["flow"], "time", "anomaly")
    assert str(err.value) == f"{unlabelled}: no label column 'anomaly'; columns are ['time', 'flow']"
    assert err.value.hint.startswith("name one of those with --label-column; a file without labels is read when "
                                     "--label-column is left out")
    with pytest.raises(InputError) as err:
        load_telemetry(unlabelled, ["flow"], "stamp")
    assert err.value.hint == "name one of those with --time-column"


def test_a_remembered_time_or_label_column_the_file_lacks_is_named_in_a_note(tmp_path):
    german = tmp_path / "score.csv"
    german.write_text("Zeitstempel,flow\n11.03.2024 00:00,1.0\n11.03.2024 00:01,2.0\n")
    data = load_telemetry(german, ["flow"], "timestamp", "anomaly", optional=("time", "label"),
                          needed_by_model=True)
    assert data.time is None and data.labels is None
    assert data.notes == ["no column 'timestamp' (the time column at fit): rows are listed without times and the "
                          "sampling is not checked; give the file's time column with --time-column",
                          "no label column 'anomaly' (saved at fit): no evaluation",
                          "columns not used by the detector: Zeitstempel"]
    # guessing, the file's own time column (named like one, reading as dates) is taken, and the note says so
    data = load_telemetry(german, ["flow"], "timestamp", optional=("time",), guess_time=True, needed_by_model=True)
    assert data.time_name == "Zeitstempel" and data.time_guessed and data.time.tolist()[0] == "11.03.2024 00:00"
    assert data.notes == ["no column 'timestamp' (the time column at fit): took column 'Zeitstempel', named like "
                          "time, as the time column; name another with --time-column"]
    # the remembered columns present: nothing to tell
    same = tmp_path / "same.csv"
    same.write_text("timestamp,flow,anomaly\n2024-03-11 00:00,1.0,0\n2024-03-11 00:01,2.0,1\n")
    data = load_telemetry(same, ["flow"], "timestamp", "anomaly", optional=("time", "label"), guess_time=True)
    assert data.time_name == "timestamp" and data.labels.tolist() == [0, 1] and data.notes == []


@pytest.mark.parametrize("name", ["Zeitstempel", "zeit", "DATUM", "Uhrzeit", "horodatage", "Fecha", "tiempo",
                                  "data_ora", "Tijd", "tidspunkt", "Zeit [s]"])
def test_time_columns_named_in_other_languages_are_guessed_when_they_read_as_time(tmp_path, name):
    stamps = "0,1,2" if name == "Zeit [s]" else "2024-03-11 00:00,2024-03-11 00:01,2024-03-11 00:02"
    path = tmp_path / "x.csv"
    path.write_text(f"{name};flow\n" + "".join(f"{stamp};{i}.5\n" for i, stamp in enumerate(stamps.split(","))))
    data = load_telemetry(path, guess_time=True)
    assert (data.time_name, data.columns, data.time_guessed) == (name, ["flow"], True)


def test_an_unsorted_export_keeps_its_date_column_as_the_time_column(tmp_path):
    unsorted = tmp_path / "unsorted.csv"
    unsorted.write_text("timestamp,flow\n2024-03-11 00:00,1\n2024-03-11 00:02,2\n2024-03-11 00:01,3\n"
                        "2024-03-11 00:03,4\n")
    data = load_telemetry(unsorted, guess_time=True)
    assert (data.time_name, data.columns, data.time_like_signal) == ("timestamp", ["flow"], None)
    assert sampling_notes(data.time)[0] == ("time goes back at 1 row(s), first at rows 2 -> 3 (2024-03-11 00:02 -> "
                                            "2024-03-11 00:01): the rows are scored in file order; sort the file "
                                            "by time")
    # numbers named like time that go back stay a signal, as before
    temperature = tmp_path / "motor.csv"
    temperature.write_text("T,flow\n21.5,1\n21.4,2\n21.6,3\n")
    data = load_telemetry(temperature, guess_time=True)
    assert (data.time_name, data.columns, data.time_like_signal) == (None, ["T", "flow"], "T")


def test_a_date_column_and_a_time_of_day_column_read_as_one_time_column(tmp_path):
    path = tmp_path / "pump.csv"
    path.write_text("Datum;Uhrzeit;Druck\n31.03.2024;23:59:00;2,5\n01.04.2024;00:00:00;2,6\n"
                    "01.04.2024;00:01:30;2,7\n")
    data = load_telemetry(path, guess_time=True)
    assert (data.time_name, data.columns, data.time_guessed) == ("Datum+Uhrzeit", ["Druck"], True)
    assert data.values[:, 0].tolist() == [2.5, 2.6, 2.7]
    assert data.notes == ["read the date column 'Datum' and the time-of-day column 'Uhrzeit' as one time column "
                          "'Datum+Uhrzeit'"]
    assert time_stamps(data.time)[0].astype("datetime64[s]").astype(str).tolist() == [
        "2024-03-31T23:59:00", "2024-04-01T00:00:00", "2024-04-01T00:01:30"]  # day first, as the dots say
    # named so (as `detect fit` saves it for `detect score`): the same column, with no note
    named = load_telemetry(path, ["Druck"], "Datum+Uhrzeit")
    assert named.time.tolist() == data.time.tolist() and named.notes == []
    # one half named as the time column: the other is read as a signal and refused, with the pair offered
    for half, other in (("Datum", "Uhrzeit"), ("Uhrzeit", "Datum")):
        with pytest.raises(InputError, match=f"column '{other}': a date/time") as err:
            load_telemetry(path, time_column=half)
        assert err.value.hint.endswith("--time-column 'Datum+Uhrzeit'")
    # a clock column beside a full time stamp is no half of one: the stamp is the time, the clock a text signal
    whole = tmp_path / "whole.csv"
    whole.write_text("timestamp,Uhrzeit,flow\n2024-03-11 00:00,00:00,1\n2024-03-11 00:01,00:01,2\n")
    with pytest.raises(InputError, match="column 'Uhrzeit': a date/time") as err:
        load_telemetry(whole, guess_time=True)
    assert "Datum+Uhrzeit" not in err.value.hint and err.value.hint.startswith("a time or date column")


def test_a_date_in_a_signal_column_is_named_as_a_date(tmp_path):
    path = tmp_path / "historian.csv"
    path.write_text("Zeitstempel;flow\n11.03.2024 00:00;1,5\n11.03.2024 00:01;2,5\n")
    with pytest.raises(InputError) as refused:
        load_telemetry(path)
    assert str(refused.value) == (f"{path}: data row 1, column 'Zeitstempel': a date/time ('11.03.2024 00:00'), "
                                  "not a number")
    assert refused.value.hint == ("a time or date column: name it with --time-column; a label or other text: leave "
                                  "it out with --drop 'Zeitstempel' (or --label-column); else clean the file")
    # other text keeps its wording
    status = tmp_path / "status.csv"
    status.write_text("flow,status\n1.5,an\n2.5,aus\n")
    with pytest.raises(InputError) as refused:
        load_telemetry(status)
    assert str(refused.value) == (f"{status}: data row 1, column 'status': missing, non-numeric or NaN ('an'); 2 "
                                  "such cell(s) in all, the longest run 2 row(s)")


def test_missing_columns_name_a_close_match_and_what_to_do(tmp_path):
    path = tmp_path / "score.csv"
    path.write_text("timestamp,suction_pressure_mbar,Flow_M3_H,motor_current_a\n2024-03-11 00:00,980,12.0,40\n")
    fitted = ["suction_pressure_bar", "flow_m3_h", "vibration_nde_mm_s"]
    with pytest.raises(InputError) as refused:
        load_telemetry(path, fitted, "timestamp", needed_by_model=True)
    assert str(refused.value) == (
        f"{path}: missing columns ['suction_pressure_bar', 'flow_m3_h', 'vibration_nde_mm_s'] (did you mean "
        "'suction_pressure_mbar' for 'suction_pressure_bar', 'Flow_M3_H' for 'flow_m3_h'?); the file has "
        "['timestamp', 'suction_pressure_mbar', 'Flow_M3_H', 'motor_current_a']")
    assert refused.value.hint == (
        "the detector needs every column it was fitted on: add the column(s) to the file or rename the file's "
        "column(s) to those names (a renamed column must hold the same signal in the same unit), or refit without "
        "them (`tinyad detect fit ... --drop 'suction_pressure_bar,flow_m3_h,vibration_nde_mm_s'`)")
    # a fit with --columns: no close name, and a hint about --columns
    with pytest.raises(InputError) as refused:
        load_telemetry(path, ["motor_current_a", "vibration_nde_mm_s"], "timestamp")
    assert str(refused.value) == (f"{path}: missing columns ['vibration_nde_mm_s']; the file has ['timestamp', "
                                  "'suction_pressure_mbar', 'Flow_M3_H', 'motor_current_a']")
    assert refused.value.hint == "name columns the file has (every file fitted on needs all the --columns)"
    assert close_column_matches(["a"], ["b"]) == {}


def test_columns_the_detector_does_not_use_are_noted(tmp_path):
    path = tmp_path / "score.csv"
    path.write_text("timestamp,flow,oil_pressure_bar,operator_note,anomaly,spare\n"
                    "2024-03-11 00:00,1.0,2.0,ok,0,7\n")
    data = load_telemetry(path, ["flow"], "timestamp", "anomaly", drop=["spare"])
    assert data.notes == ["columns not used by the detector: oil_pressure_bar, operator_note"]
    # all columns used, or no detector's columns given: nothing to tell
    assert load_telemetry(path, ["flow", "oil_pressure_bar"], "timestamp", "anomaly", drop=["operator_note",
                                                                                            "spare"]).notes == []
    assert unused_columns_note([]) is None
    assert unused_columns_note([f"c{i}" for i in range(11)]) == ("columns not used by the detector: c0, c1, c2, c3, "
                                                                 "c4, c5, c6, c7 and 3 more")


def test_session_channels_the_detector_does_not_use_are_noted(tmp_path):
    from tinyad.session import Session, SessionMeta, write_session

    t = np.arange(5) / 100.0
    path = write_session(tmp_path / "s.parquet", Session(t, np.zeros((5, 3), np.float32), SessionMeta(
        sample_rate_hz=100.0, label="normal", channels=["ax", "ay", "gz"])))
    assert load_telemetry(path, ["ax"]).notes == ["columns not used by the detector: ay, gz"]
    assert load_telemetry(path).notes == []


def test_fill_short_gaps_interpolates_only_runs_up_to_the_limit():
    from tinyad.detectors.telemetry import fill_short_gaps, missing_runs

    assert missing_runs([1, np.nan, np.nan, 4, np.nan]) == [(1, 2), (4, 4)]
    column = np.array([[1, np.nan, 3, np.nan, np.nan, np.nan, 7]], float).T
    filled, counts = fill_short_gaps(column, 2)
    np.testing.assert_array_equal(filled[:, 0], [1, 2, 3, np.nan, np.nan, np.nan, 7])  # the run of 3 stays
    assert counts.tolist() == [1] and np.isnan(column[1, 0])  # the input is not changed
    filled, counts = fill_short_gaps(column, 3)
    np.testing.assert_array_equal(filled[:, 0], [1, 2, 3, 4, 5, 6, 7])
    # at the start and the end: the nearest value; a column without a number stays as it is
    edges = np.array([[np.nan, 2, 3, np.nan], [np.nan] * 4], float).T
    filled, counts = fill_short_gaps(edges, 1)
    np.testing.assert_array_equal(filled[:, 0], [2, 2, 3, 3])
    assert np.isnan(filled[:, 1]).all() and counts.tolist() == [2, 0]


def test_fill_missing_interpolates_short_gaps_with_a_note_and_names_longer_runs(tmp_path):
    path = tmp_path / "historian.csv"
    path.write_text("flow,temp\n1.0,20\n,21\n3.0,#N/A\n4.0,23\n5.0,\n6.0,\n7.0,\n8.0,27\n")
    with pytest.raises(InputError) as refused:  # without --fill-missing: every bad cell counted, the fix offered
        load_telemetry(path)
    assert str(refused.value) == (f"{path}: data row 2, column 'flow': missing, non-numeric or NaN (also in "
                                  "column(s) 'temp'); 5 such cell(s) in all, the longest run 3 row(s)")
    assert refused.value.hint.endswith("; or interpolate runs of up to 3 row(s) with --fill-missing 3")
    data = load_telemetry(path, fill_missing=3)
    np.testing.assert_array_equal(data.values[:, 0], np.arange(1.0, 9.0))
    np.testing.assert_array_equal(data.values[:, 1], [20, 21, 22, 23, 24, 25, 26, 27])
    assert data.notes == ["5 missing or non-numeric cell(s) interpolated (runs of at most 3 rows, --fill-missing): "
                          "flow 1, temp 4"]
    with pytest.raises(InputError, match=r"the longest run 3 row\(s\), longer than --fill-missing 2"):
        load_telemetry(path, fill_missing=2)


def test_an_empty_time_cell_keeps_the_time_column_with_a_note_and_a_tab_separator_may_be_typed(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("timestamp,flow\n2024-03-11 00:00,1.5\n,2.5\n2024-03-11 00:02,3.5\n")
    data = load_telemetry(path, guess_time=True)
    assert data.columns == ["flow"] and data.time_name == "timestamp"
    assert data.notes == ["time column 'timestamp' has 1 empty cell(s), first at data row 2: the time notes (gaps, "
                          "sampling) and the PNG's time axis are left out; fill the cells to have them"]
    tsv = tmp_path / "run.tsv"
    tsv.write_text("a\tb\n1\t2\n3\t4\n")
    assert load_telemetry(tsv, sep="\\t").columns == ["a", "b"]  # as `--sep '\t'` arrives from a shell


# --- a factory technician's data-logger exports ------------------------------------------------------------------

def test_comment_lines_above_the_header_and_a_unit_row_under_it_are_skipped_with_notes(tmp_path):
    path = tmp_path / "logview.csv"
    path.write_text("# LogView 3.2 export, Conveyor 3, motor\n# Channels: current (A), temp (°C)\n"
                    "time,current,temp\ns,A,°C\n0,6.36,41.07\n20,6.75,40.99\n40,6.5,41.2\n")
    data = load_telemetry(path, guess_time=True)
    assert (data.time_name, data.columns) == ("time", ["current", "temp"])
    assert data.values.tolist() == [[6.36, 41.07], [6.75, 40.99], [6.5, 41.2]] and data.time.tolist() == [0, 20, 40]
    assert data.notes == ["skipped 2 comment line(s) above the header (the first: '# LogView 3.2 export, Conveyor 3, "
                          "motor')", "skipped data row 1 (s, A, °C), text in every column, as a row of units is; "
                          "data rows are counted from the row after it"]
    # a decimal-comma unit row file too; a first row with a number in it is data, not units
    euro = tmp_path / "euro.csv"
    euro.write_text("Zeit;Strom\n[s];[A]\n0;6,5\n1;6,7\n")
    assert load_telemetry(euro, guess_time=True).values[:, 0].tolist() == [6.5, 6.7]
    status = tmp_path / "status.csv"
    status.write_text("t,flow,state\n0,1.5,on\n1,1.6,on\n")
    with pytest.raises(InputError, match="column 'state'"):
        load_telemetry(status, guess_time=True)


def test_a_preamble_or_header_lines_without_hash_get_errors_that_say_so(tmp_path):
    preamble = tmp_path / "preamble.csv"
    preamble.write_text("Logger EL-USB-2\nExported 2026-11-16\ntime,current,temp\n0,6.3,41.0\n1,6.4,41.1\n")
    with pytest.raises(InputError) as refused:
        load_telemetry(preamble)
    assert str(refused.value) == f"{preamble}: line 3 has 3 fields where the first line has 1"
    assert "start each with #" in refused.value.hint
    # two rows of text under the header: more header lines, not gaps to interpolate
    doubled = tmp_path / "doubled.csv"
    doubled.write_text("time,current,temp\nElapsed,Current,Temperature\nunit s,unit A,unit C\n0,6.3,41.0\n"
                       "1,6.4,41.1\n2,6.5,41.2\n")
    with pytest.raises(InputError) as refused:
        load_telemetry(doubled, time_column="time")
    assert refused.value.hint.startswith("data row(s) 1..2 hold text above columns of numbers: more header lines?")
    assert "--fill-missing" not in refused.value.hint
    sheet = tmp_path / "logger.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match="unsupported file type '.xlsx'") as refused:
        load_telemetry(sheet)
    assert refused.value.hint == 'save it as CSV (in Excel: Save As, "CSV UTF-8") and give that file'


def test_epoch_time_columns_are_found_and_read_as_dates(tmp_path):
    path = tmp_path / "vib.csv"
    path.write_text("Epoch,value\n" + "".join(f"{1794182400 + 60 * i},{1 + i / 10}\n" for i in range(3)))
    data = load_telemetry(path, guess_time=True)
    assert (data.time_name, data.columns, data.time_unit) == ("Epoch", ["value"], None)
    assert data.time.tolist() == ["2026-11-09T00:00:00Z", "2026-11-09T00:01:00Z", "2026-11-09T00:02:00Z"]
    assert data.notes == ["time column 'Epoch' holds numbers of the size of seconds since 1970-01-01: read as such, "
                          "in UTC (the scores CSV and the PNG show them as dates)"]


def test_over_and_under_range_marks_read_as_the_columns_extremes_with_a_note(tmp_path):
    path = tmp_path / "pressure.csv"
    path.write_text("t,pressure_bar,flow\n0,6.5,1.0\n1,9.8,1.1\n2,OVF,1.2\n3, +OVER ,1.1\n4,2.1,-OL\n5,6.4,0.9\n")
    data = load_telemetry(path, guess_time=True)
    assert data.values[:, 0].tolist() == [6.5, 9.8, 9.8, 9.8, 2.1, 6.4]
    assert data.values[:, 1].tolist() == [1.0, 1.1, 1.2, 1.1, 0.9, 0.9]
    assert data.range_marked[:, 0].tolist() == [False, False, True, True, False, False]
    assert data.notes == [
        "column 'pressure_bar': read 2 over-range cell(s) (e.g. 'OVF') as its largest reading, 9.8 (the true values "
        "lay beyond: the error there is a lower bound)",
        "column 'flow': read 1 under-range cell(s) (e.g. '-OL') as its smallest, 0.9 (the true values lay beyond: "
        "the error there is a lower bound)"]
    # other text is still a bad cell; a column of marks alone has no reading to stand in
    path.write_text("t,pressure_bar\n0,6.5\n1,ERR\n")
    with pytest.raises(InputError, match="column 'pressure_bar': missing, non-numeric or NaN \\('ERR'\\)"):
        load_telemetry(path, guess_time=True)
    path.write_text("t,pressure_bar\n0,OVF\n1,OVF\n")
    with pytest.raises(InputError, match="missing, non-numeric or NaN \\('OVF'\\)"):
        load_telemetry(path, guess_time=True)


def test_header_variants_from_loggers_are_read_or_named_never_fitted_on_the_wrong_columns(tmp_path):
    path = tmp_path / "x.csv"
    # numpy.savetxt's header: the last comment line above rows of numbers is the header
    path.write_text("# time,current,temp\n0.00,6.36,41.07\n20.00,6.75,40.99\n")
    data = load_telemetry(path, guess_time=True)
    assert (data.time_name, data.columns, data.values.tolist()) == ("time", ["current", "temp"],
                                                                    [[6.36, 41.07], [6.75, 40.99]])
    assert data.notes == ["took the last comment line '# time,current,temp' as the header (the lines below it are "
                          "numbers)"]
    # blank lines among the comments, and between the header and its units
    path.write_text("# Logger EL-USB-2\n\n# Site 3\ntime,current\n\ns,A\n0,6.36\n20,6.75\n")
    data = load_telemetry(path, guess_time=True)
    assert (data.columns, data.values[:, 0].tolist()) == (["current"], [6.36, 6.75])
    # a line above the header without #: pandas took the extra fields for an index; named, not fitted
    for first in ("Conveyor 3 motor", "Logger,EL-USB-2"):
        path.write_text(f"{first}\ntime,current,temp\n0,6.36,41.07\n20,6.75,40.99\n")
        with pytest.raises(InputError, match="the first line has fewer fields than the lines below it"):
            load_telemetry(path, guess_time=True)
    # key,value lines above a 2-column header: header lines, not gaps to interpolate
    path.write_text("Logger,EL-USB-1\nSerial,0045123\ntime,current\n0,6.36\n20,6.75\n40,6.5\n")
    with pytest.raises(InputError) as refused:
        load_telemetry(path, guess_time=True)
    assert refused.value.hint.startswith("data row(s) 1..2 hold text above columns of numbers: more header lines?")
    # a comment line inside the data
    path.write_text("time,current\n0,6.36\n# power failure\n20,6.75\n")
    with pytest.raises(InputError) as refused:
        load_telemetry(path, guess_time=True)
    assert refused.value.hint.startswith("data row(s) 2 are comment lines (#): delete them from the file")


def test_epoch_numbers_are_dates_only_in_a_column_named_for_instants(tmp_path):
    from tinyad.detectors.sampling import rows_before

    # an Arduino's millis() after 12 days in "time", a counter in "t": numbers, as written
    path = tmp_path / "millis.csv"
    path.write_text("time,value\n1036800000,5.4\n1036801000,4.5\n")
    data = load_telemetry(path, guess_time=True)
    assert data.time.tolist() == [1036800000, 1036801000] and data.notes == []
    path.write_text("timestamp,value\n1794182400000,5.4\n1794182401000,4.5\n")
    data = load_telemetry(path, guess_time=True)
    with pytest.raises(InputError, match="the time column holds dates \\(epoch numbers are read as dates") as err:
        rows_before(data.time, "1794182400500")
    assert err.value.hint.startswith("give a date, e.g. --train-until 2026-11-09")
    assert rows_before(data.time, "2026-11-09 00:00:00.5")[0] == 1


def test_over_range_marks_are_no_reading_for_a_time_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("time,P\n0,4.9\n1,5.0\nOVF,5.1\n3,5.0\n")
    with pytest.raises(InputError, match="column 'time': missing, non-numeric or NaN \\('OVF'\\)"):
        load_telemetry(path, guess_time=True)
    path.write_text("T,P\n20.1,4.9\n19.9,5.0\nOVF,5.1\n20.0,5.0\n")  # a temperature named T: a signal
    assert load_telemetry(path, guess_time=True).values[:, 0].tolist() == [20.1, 19.9, 20.1, 20.0]


def test_a_file_without_a_final_line_end_is_noted_as_maybe_still_being_written(tmp_path):
    from tinyad.csvfile import ends_without_line_end

    whole, cut, empty = tmp_path / "whole.csv", tmp_path / "cut.csv", tmp_path / "empty.csv"
    whole.write_text("a,b\n1,2\n3,4\n")
    cut.write_text("a,b\n1,2\n3,4")  # "4" may be the start of "45.1"
    empty.write_bytes(b"")
    assert [ends_without_line_end(p) for p in (whole, cut, empty)] == [False, True, False]
    assert not any("line end" in note for note in load_telemetry(whole).notes)
    assert ("the file does not end with a line end: still being written? its last row (data row 2) may be cut off, "
            "and a number cut short reads as another value") in load_telemetry(cut).notes


def test_a_separator_closing_every_line_is_read_past_with_a_note(tmp_path):
    rows = "".join(f"2026-03-01 00:{i:02d}:00;{60 + i % 4}.5;{10 + i % 3}\n" for i in range(20))
    closing_data = tmp_path / "data.csv"  # every data line ends with ';', the header does not
    closing_data.write_text("time;temp;flow\n" + rows.replace("\n", ";\n"))
    closing_all = tmp_path / "all.csv"  # the header too: pandas reads an empty column "Unnamed: 3"
    closing_all.write_text("time;temp;flow;\n" + rows.replace("\n", ";\n"))
    for path, note in ((closing_data, "every data line ends with a separator (';') the header lacks: the empty field "
                                      "after it is ignored"),
                       (closing_all, "every line ends with a separator (';'): the empty column after the last is "
                                     "left out")):
        data = load_telemetry(path, guess_time=True)
        assert data.columns == ["temp", "flow"] and data.values[:6, 0].tolist() == [60.5, 61.5, 62.5, 63.5, 60.5, 61.5]
        assert data.time_name == "time" and note in data.notes


def test_a_last_line_cut_inside_the_time_stamp_is_named_as_unfinished(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("time,temp\n" + "".join(f"2026-03-01 00:{i:02d}:00,{60 + i % 4}.5\n" for i in range(6))
                    + "2026-03-02 ")
    with pytest.raises(InputError, match="data row 7, column 'temp': missing") as refused:
        load_telemetry(path, guess_time=True)
    assert refused.value.hint.startswith("the last line has no line end: the file is probably still being written")


def test_a_parquet_file_with_its_time_as_the_index_reads_it_as_a_column(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"Zeitstempel": pd.date_range("2024-03-01", periods=4, freq="5min"),
                          "flow": [1.0, 2.0, 3.0, 4.0]})
    indexed = tmp_path / "indexed.parquet"
    frame.set_index("Zeitstempel").to_parquet(indexed)
    data = load_telemetry(indexed, ["flow"], "Zeitstempel")
    assert data.time_name == "Zeitstempel" and data.values[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert "read the Parquet index 'Zeitstempel' as a column" in data.notes
    guessed = load_telemetry(indexed, guess_time=True)  # found by its name, as a column would be
    assert guessed.time_name == "Zeitstempel" and guessed.columns == ["flow"]
    unnamed = tmp_path / "unnamed.parquet"
    frame.set_index("Zeitstempel").rename_axis(None).to_parquet(unnamed)  # a time index without a name
    data = load_telemetry(unnamed, guess_time=True)
    assert data.time_name == "time" and data.columns == ["flow"]
    assert "read the Parquet index 'time' as a column" in data.notes


@pytest.mark.parametrize("decimals", [2, 4])  # 4: a float among the text cells read back as '4.0004', no group
def test_a_few_text_cells_in_a_decimal_comma_column_are_read_as_beside_decimal_points(tmp_path, decimals):
    commas = tmp_path / "commas.csv"
    commas.write_text("Zeit;Druck\n" + "".join(f"01.03.2024 00:{m:02d};4,{m:0{decimals}d}\n" for m in range(20))
                      .replace(f"00:05;4,{5:0{decimals}d}", "00:05;ERR")
                      .replace(f"00:09;4,{9:0{decimals}d}", "00:09;OVF"))
    points = tmp_path / "points.csv"
    points.write_text(commas.read_text().replace(",", "."))
    read = [load_telemetry(path, ["Druck"], "Zeit", fill_missing=2) for path in (commas, points)]
    assert read[0].values[:, 0].tolist() == read[1].values[:, 0].tolist()  # the same numbers either way
    assert read[0].values[4, 0] == pytest.approx(4 + 4 / 10 ** decimals)
    assert read[0].values[6, 0] == pytest.approx(4 + 6 / 10 ** decimals)
    assert [n for n in read[0].notes if "over-range" in n or "interpolated" in n] == \
        [n for n in read[1].notes if "over-range" in n or "interpolated" in n] != []


def test_a_wrong_sep_is_named_rather_than_a_line_above_the_header(tmp_path):
    german = tmp_path / "de.csv"
    german.write_text("Zeit;Last;Druck\n01.03.2024 00:00;4,98;1,2\n01.03.2024 00:05;4,97;1,3\n")
    with pytest.raises(InputError) as err:
        load_telemetry(german, sep=",")
    assert str(err.value) == (f"{german}: with --sep ',' the header is one field ('Zeit;Last;Druck'), which holds ';' "
                              "separators")
    assert err.value.hint == "give the file's separator: --sep ';' (or leave --sep out: it is sniffed)"
    assert load_telemetry(german, guess_time=True).columns == ["Last", "Druck"]  # sniffed
