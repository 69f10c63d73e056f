import io
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clarimon.engine.datasets import DataError, read


def test_csv_with_and_without_header_row() -> None:
    headers = ["y", "a", "b"]
    with_header = read(b"y,a,b\n1,2.5,3\n0,4,5\n", "text/csv", source="d.csv", headers=headers, label="y")
    without = read(b"1,2.5,3\n0,4,5\n", "text/csv", source="d.csv", headers=headers, label="y")
    implicit = read(b"y,a,b\n1,2.5,3\n0,4,5\n", "text/csv", source="d.csv", label=0)
    for table in (with_header, without, implicit):
        assert table.columns == ["a", "b"]
        np.testing.assert_array_equal(table.values, [[2.5, 3], [4, 5]])
        assert table.values.dtype == np.float64


def test_categorical_columns_keep_strings() -> None:
    table = read(b"a,color\n1,red\n2,blue\n", "text/csv", source="d.csv")
    assert table.values.dtype == object
    assert table.values[1].tolist() == [2.0, "blue"]


def test_json_lines_and_json_with_features_path() -> None:
    lines = b'{"features": [1, 2], "label": 0}\n{"features": [3, 4], "label": 1}\n'
    table = read(lines, "application/jsonlines", source="d.jsonl", headers=["a", "b"], features="features",
                 label="label")
    np.testing.assert_array_equal(table.values, [[1, 2], [3, 4]])
    assert table.columns == ["a", "b"]
    document = b'{"instances": [{"features": [1, 2]}, {"features": [3, 4]}]}'
    table = read(document, "application/json", source="d.json", features="instances[*].features")
    np.testing.assert_array_equal(table.values, [[1, 2], [3, 4]])


def test_parquet() -> None:
    out = io.BytesIO()
    pq.write_table(pa.table({"a": [1.0, 2.0], "y": [0, 1], "c": ["x", "z"]}), out)
    table = read(out.getvalue(), "application/x-parquet", source="d.parquet", label="y")
    assert table.columns == ["a", "c"]
    assert table.values.tolist() == [[1.0, "x"], [2.0, "z"]]


@pytest.mark.parametrize(
    ("content", "kind", "kwargs", "expected"),
    [
        (b"a,b\n1,2\n3\n", "text/csv", {}, "d: line 3: 1 fields where the header has 2"),
        (b'{"f": [1]}\nnot json\n', "application/jsonlines", {"features": "f"}, "d: line 2: not JSON"),
        (b'{"f": [1]}\n{"g": [1]}\n', "application/jsonlines", {"features": "f"}, "d: line 2: field 'f'"),
        (b"a,b\n1,2\n", "text/csv", {"label": "z"}, "d: no column 'z'"),
        (b"", "text/csv", {}, "d: no records"),
        (b"garbage", "application/x-parquet", {}, "d: not a Parquet file"),
    ],
)
def test_errors_name_file_line_and_field(content: bytes, kind: str, kwargs: dict, expected: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(DataError) as caught:
        read(content, kind, source="d", **kwargs)
    assert caught.value.args[0].startswith(expected)


def test_numeric_csv_equals_python_floats_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    numbers = rng.normal(size=(500, 6)) * 10.0 ** rng.integers(-30, 30, size=(500, 6))
    cells = [[repr(float(v)) for v in row] for row in numbers]
    for row in cells[::7]:
        row[0], row[1], row[2] = f"{float(row[0]):.17e}", str(int(rng.integers(-2**62, 2**62))), " 1.5"
    cells[3][4], cells[4][4], cells[5][5] = "inf", "-1e400", '"2.25"'
    text = "\r\n".join(",".join(row) for row in cells[:250]) + "\r\n\r\n" + "\n".join(",".join(r) for r in cells[250:])
    expected = [[float(c.strip('"')) for c in row] for row in cells]
    headers = [f"f{i}" for i in range(6)]
    for content in (text.encode(), b"\xef\xbb\xbf" + text.encode(), (",".join(headers) + "\n" + text).encode()):
        table = read(content, "text/csv", source="d.csv", headers=headers, label="f5")
        assert table.columns == headers[:5]
        assert table.values.dtype == np.float64
        assert table.values.tobytes() == np.array(expected)[:, :5].tobytes()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"a,b\nnan,2\n3,4\n", [[np.nan, 2.0], [3.0, 4.0]]),  # pyarrow reads nan as null; float() reads it
        (b"a,b\n1_000,2\n3,4\n", [[1000.0, 2.0], [3.0, 4.0]]),  # float() accepts underscores, pyarrow does not
        (b'"a","b"\n1,2\n3,4\n', [[1.0, 2.0], [3.0, 4.0]]),  # a quoted header row
        (b"a,b\n1,\n3,4\n", [[1.0, ""], [3.0, "4"]]),  # a blank cell makes the column text
    ],
)
def test_csv_that_is_not_plainly_numeric_is_read_as_python_reads_it(content: bytes, expected: list) -> None:  # type: ignore[type-arg]
    table = read(content, "text/csv", source="d.csv")
    assert table.columns == ["a", "b"]
    assert [[None if isinstance(v, float) and np.isnan(v) else v for v in row] for row in table.values.tolist()] == \
        [[None if isinstance(v, float) and np.isnan(v) else v for v in row] for row in expected]


# Properties: any numeric table written as CSV reads back exactly, by the fast path and by the exact one.
_tables = st.integers(1, 6).flatmap(lambda width: st.lists(
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=width, max_size=width),
    min_size=1, max_size=20))


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    return "".join(",".join(map(str, line)) + "\n" for line in [header, *rows]).encode()


@given(rows=_tables, named_in_file=st.booleans())
def test_numeric_csv_reads_back_exactly(rows: list[list[float]], named_in_file: bool) -> None:
    names = [f"c{i}" for i in range(len(rows[0]))]
    content = _csv(names, rows) if named_in_file else _csv(names, rows).split(b"\n", 1)[1]
    table = read(content, "text/csv", source="t.csv", headers=None if named_in_file else names)
    assert table.columns == names
    assert table.values.dtype == np.float64
    np.testing.assert_array_equal(table.values, np.array(rows, dtype=np.float64))


@given(rows=_tables, words=st.lists(st.sampled_from(["red", "green", "blue"]), min_size=20, max_size=20))
def test_a_text_column_keeps_the_numbers_exact(rows: list[list[float]], words: list[str]) -> None:
    names = ["colour"] + [f"c{i}" for i in range(len(rows[0]))]
    table = read(_csv(names, [[words[i], *row] for i, row in enumerate(rows)]), "text/csv", source="t.csv")
    assert table.columns == names
    assert list(table.values[:, 0]) == words[:len(rows)]
    np.testing.assert_array_equal(table.values[:, 1:].astype(np.float64), np.array(rows, dtype=np.float64))
