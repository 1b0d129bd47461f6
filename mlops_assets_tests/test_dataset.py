"""Bad CSVs, tried deliberately: each gives an error naming the file, column and line."""

from pathlib import Path

import numpy as np
import pytest

from mlops_assets.data.dataset import MIN_ROWS, DatasetError, file_md5, load_dataset

HEADER = "a,b,target"


def rows(n: int, target=lambda i: i % 7) -> list[str]:
    return [f"{i * 7 % 11},{i * 0.5},{target(i)}" for i in range(n)]


def write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def load(path: Path, task: str = "regression"):
    return load_dataset(path, "target", task)


def test_a_valid_file_loads_as_float_columns(tmp_path):
    frame = load(write(tmp_path, "\n".join([HEADER, *rows(30)])))
    assert list(frame.columns) == ["a", "b", "target"]
    assert len(frame) == 30
    assert all(dtype == np.float64 for dtype in frame.dtypes)


@pytest.mark.parametrize(
    "content, expected",
    [
        pytest.param(None, r"data\.csv: data file not found", id="missing-file"),
        pytest.param("", r"data\.csv: the file is empty", id="empty-file"),
        pytest.param(
            HEADER + "\n", rf"data\.csv: 0 data rows; at least {MIN_ROWS}", id="header-only"
        ),
        pytest.param([HEADER, "1,2,3"], r"data\.csv: 1 data rows; at least", id="one-row"),
        pytest.param(
            [HEADER, *rows(5), "1,2,3,4", *rows(20)],
            r"data\.csv: unparsable CSV .*line 7",
            id="ragged-extra-field",
        ),
        pytest.param(
            ["a;b;target", *(r.replace(",", ";") for r in rows(30))],
            r"target column 'target' not found \(columns: a;b;target\)\. .*delimiter",
            id="wrong-delimiter",
        ),
        pytest.param(
            ["a,b,label", *rows(30)],
            r"data\.csv: target column 'target' not found \(columns: a, b, label\)",
            id="renamed-target",
        ),
        pytest.param(
            [HEADER, *rows(10), "3,abc,1", *rows(20)],
            r"data\.csv: column 'b', line 12: non-numeric value 'abc' in a column of numbers\. "
            r"A missing-value marker\? List it in data\.na_values",
            id="string-in-numeric-column",
        ),
        pytest.param(
            [HEADER, *rows(4), "3,inf,1", *rows(20)],
            r"data\.csv: column 'b', line 6: infinite value",
            id="infinity",
        ),
        pytest.param(
            ["target", *(str(i) for i in range(30))], r"no feature columns", id="no-features"
        ),
        pytest.param(
            ["a,a,target", *rows(30)], r"duplicate or empty column names", id="dup-header"
        ),
    ],
)
def test_malformed_files_name_the_problem(tmp_path, content, expected):
    path = tmp_path / "data.csv"
    if content is not None:
        write(tmp_path, content if isinstance(content, str) else "\n".join(content))
    with pytest.raises(DatasetError, match=expected):
        load(path)


def test_non_utf8_bytes_name_the_offset(tmp_path):
    path = write(tmp_path, ("\n".join([HEADER, *rows(30)]) + "\n").encode() + b"1,2,\xff\n")
    with pytest.raises(
        DatasetError, match=r"data\.csv: not UTF-8 text \(byte 0xff at offset \d+\)"
    ):
        load(path)


def test_classification_needs_both_classes(tmp_path):
    path = write(tmp_path, "\n".join([HEADER, *rows(30, target=lambda i: 1)]))
    with pytest.raises(DatasetError, match=r"column 'target' holds 1 labels \['1'\]; binary"):
        load(path, "binary_classification")


def test_binary_classification_needs_exactly_two_labels(tmp_path):
    path = write(tmp_path, "\n".join([HEADER, *rows(30, target=lambda i: i % 3)]))
    with pytest.raises(
        DatasetError, match=r"holds 3 labels \['0', '1', '2'\]; .*multiclass_classification"
    ):
        load(path, "binary_classification")
    assert load(path, "multiclass_classification")["target"].nunique() == 3


def test_file_md5_is_the_content_hash_dvc_records(tmp_path):
    import hashlib

    path = write(tmp_path, "\n".join([HEADER, *rows(3)]))
    assert file_md5(path) == hashlib.md5(path.read_bytes()).hexdigest()
    assert file_md5(path, chunk_size=7) == file_md5(path)
