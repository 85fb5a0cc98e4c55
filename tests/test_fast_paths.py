"""The per-reading shortcuts give exactly what the careful, one-at-a-time code gives."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.core.inputs import GLITCH_SD, Inputs
from edge.core.timestamps import parse_timestamp
from edge.plugins import PluginContext
from edge.replay_file import RowWriter
from edge.sources.replay import Config, ReplaySource

NUMBERS = st.floats(-50.0, 50.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    known=st.lists(st.lists(NUMBERS, min_size=3, max_size=3), max_size=2),
    xs=st.lists(
        st.lists(st.one_of(NUMBERS, st.sampled_from([0.0, -0.0, GLITCH_SD, -GLITCH_SD, 1e6])), min_size=3, max_size=3),
        min_size=1,
        max_size=12,
    ),
)
def test_a_block_is_filtered_as_its_readings_one_at_a_time(known: list[list[float]], xs: list[list[float]]) -> None:
    one, block = Inputs([0.0] * 3, [1.0] * 3), Inputs([0.0] * 3, [1.0] * 3)
    one.recent, block.recent = [list(k) for k in known], [list(k) for k in known]
    expected = np.array([one.filtered(list(x)) for x in xs])
    got = block.filtered_block([list(x) for x in xs])
    assert got.tobytes() == expected.tobytes()  # to the bit, the sign of a zero too
    assert block.recent == one.recent


def test_a_glitch_inside_a_block_is_replaced_by_the_median_of_three() -> None:
    inputs = Inputs([0.0], [1.0])
    got = inputs.filtered_block([[0.1], [0.2], [40.0], [0.3], [0.2]])
    assert got[:, 0].tolist() == [0.1, 0.2, 0.2, 0.3, 0.2]


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_a_naive_iso_timestamp_is_read_as_utc_to_the_last_bit(moment: datetime) -> None:
    for text in (moment.isoformat(sep=" "), moment.isoformat()):
        assert parse_timestamp(text) == moment.replace(tzinfo=UTC).timestamp()


def test_timestamps_with_an_offset_numbers_and_exponents_still_read() -> None:
    assert parse_timestamp("2014-07-15 04:35:00+02:00") == datetime(2014, 7, 15, 2, 35, tzinfo=UTC).timestamp()
    moment = datetime(2014, 7, 15, 4, 35, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_timestamp(moment.isoformat()) == moment.timestamp()
    assert parse_timestamp(" 1386018900.5 ") == 1386018900.5
    assert parse_timestamp("123e-5") == 123e-5  # a '-' at index 4 that is not a date
    assert parse_timestamp("-1234.5") == -1234.5


FIELDS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "nan", "NaN", "-nan", "null", "N/A", "abc", " 2.5 ", "1_000", "inf", "1e400", "--1"]),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(FIELDS, min_size=1, max_size=2), min_size=1, max_size=20))
def test_replay_reads_each_row_as_its_fields_one_by_one_would(tmp_path_factory, rows: list[list[str]]) -> None:
    folder = tmp_path_factory.mktemp("replay")
    path = folder / "rows.csv"
    lines = ["timestamp,a,b"] + [f"{1000 + i},{','.join(fields)}" for i, fields in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    source = _source(path, folder)
    records = list(source.records())
    for (fields, reading), raw in zip(records, rows, strict=True):
        assert reading is not None
        careful = source._values(fields, [1, 2], 0)
        assert len(reading.values) == 2 == len(careful)
        for got, want in zip(reading.values, careful):
            assert got == want or (math.isnan(got) and math.isnan(want)), (raw, reading.values, careful)
    source.close()


def _source(path: Path, folder: Path) -> ReplaySource:
    context = PluginContext(("a", "b"), 1.0, "0" * 64, folder, folder)
    return ReplaySource(Config(sensor="s", path=path), context)


@settings(max_examples=300, deadline=None)
@given(
    delimiter=st.sampled_from([",", ";", "\t"]),
    rows=st.lists(
        st.lists(st.text(alphabet=st.sampled_from('ab 1.-,;\t"\r\n'), max_size=4), min_size=1, max_size=5), max_size=8
    ),
)
def test_replay_writes_rows_exactly_as_the_csv_module_does(delimiter: str, rows: list[list[str]]) -> None:
    ours, theirs = io.StringIO(newline=""), io.StringIO(newline="")
    RowWriter(ours, delimiter).writerows(rows)
    csv.writer(theirs, delimiter=delimiter).writerows(rows)
    assert ours.getvalue() == theirs.getvalue()
