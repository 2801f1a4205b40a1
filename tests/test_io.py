"""read_data: each format written to tmp_path and read back, Chinese names and encodings."""

import sys

import pandas as pd
import pytest

from dtistat.errors import DataError, ParameterError
from dtistat.io import read_data


@pytest.fixture()
def frame():
    return pd.DataFrame({
        "城市": ["北京市", "上海市", "深圳市", "合肥市"],
        "季度": ["2021Q1", "2021Q1", "2021Q2", "2021Q2"],
        "数字化指数": [1.5, 2.25, 0.75, 0.5],
        "企业数": [10, 20, 30, 40],
    })


def test_csv_utf8_and_bom(tmp_path, frame):
    p = tmp_path / "data.csv"
    frame.to_csv(p, index=False, encoding="utf-8-sig")      # Excel's "CSV UTF-8"
    df = read_data(p)
    pd.testing.assert_frame_equal(df, frame, check_dtype=False)
    assert df.attrs["encoding"] == "utf-8-sig" and list(df.columns)[0] == "城市"
    frame.to_csv(p, index=False, encoding="utf-8")
    assert list(read_data(str(p)).columns) == list(frame.columns)


def test_gbk_csv_detected_and_explicit(tmp_path, frame):
    p = tmp_path / "城市数据.csv"
    frame.to_csv(p, index=False, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        p.read_bytes().decode("utf-8")                     # really not UTF-8
    df = read_data(p)
    assert df.attrs["encoding"] == "gb18030"
    pd.testing.assert_frame_equal(df, frame, check_dtype=False)
    assert read_data(p, encoding="gbk")["城市"].tolist() == frame["城市"].tolist()
    with pytest.raises(DataError, match="pass encoding="):
        read_data(p, encoding="ascii")
    with pytest.raises(ParameterError, match="not a known text encoding"):
        read_data(p, encoding="no-such-codec")


def test_tsv_and_gzip(tmp_path, frame):
    frame.to_csv(tmp_path / "d.tsv", sep="\t", index=False)
    assert read_data(tmp_path / "d.tsv").shape == (4, 4)
    frame.to_csv(tmp_path / "d.csv.gz", index=False)
    assert read_data(tmp_path / "d.csv.gz")["企业数"].sum() == 100


def test_xlsx_sheets(tmp_path, frame):
    p = tmp_path / "data.xlsx"
    with pd.ExcelWriter(p) as xl:
        frame.to_excel(xl, sheet_name="说明", index=False)
        frame.assign(数字化指数=frame["数字化指数"] * 2).to_excel(xl, sheet_name="数据",
                                                                  index=False)
    assert read_data(p)["数字化指数"].tolist() == frame["数字化指数"].tolist()
    assert read_data(p, sheet="数据")["数字化指数"].tolist() == [3.0, 4.5, 1.5, 1.0]
    assert read_data(p, sheet=1)["数字化指数"].iloc[0] == 3.0
    with pytest.raises(DataError, match=r"no sheet 'data'; its sheets are \['说明', '数据'\]"):
        read_data(p, sheet="data")
    with pytest.raises(DataError, match="out of range"):
        read_data(p, sheet=5)
    (tmp_path / "x.csv").write_text("a\n1")
    with pytest.raises(ParameterError, match="sheet= applies to Excel"):
        read_data(tmp_path / "x.csv", sheet="a")


def test_stata_value_labels_become_categoricals(tmp_path, frame):
    levels = ["不满意", "一般", "满意"]
    d = frame.assign(满意度=pd.Categorical(["满意", "一般", "不满意", "满意"], categories=levels,
                                        ordered=True))
    p = tmp_path / "survey.dta"
    d.to_stata(p, write_index=False, version=118)
    df = read_data(p)
    s = df["满意度"]
    assert isinstance(s.dtype, pd.CategoricalDtype) and s.cat.ordered
    assert list(s.cat.categories) == levels                       # in code order
    assert s.tolist() == ["满意", "一般", "不满意", "满意"]
    assert (s > "一般").tolist() == [True, False, False, True]     # ordered comparisons
    assert df["城市"].tolist() == frame["城市"].tolist()
    assert not read_data(p, ordered=False)["满意度"].cat.ordered


def test_parquet_roundtrip(tmp_path, frame):
    p = tmp_path / "data.parquet"
    frame.to_parquet(p)          # needs pyarrow (in the test extra)
    pd.testing.assert_frame_equal(read_data(p), frame, check_dtype=False)


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path, monkeypatch):
    p = tmp_path / "data.parquet"
    p.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)             # import now fails
    with pytest.raises(DataError, match="data.parquet.*needs pyarrow.*pip install pyarrow"):
        read_data(p)


def test_clear_errors(tmp_path):
    bad = tmp_path / "data.sav"
    bad.write_text("x")
    with pytest.raises(DataError, match=r"data.sav.*'\.sav'.*dtistat reads \.csv"):
        read_data(bad)
    (tmp_path / "old.xls").write_text("x")
    with pytest.raises(DataError, match="save .xls workbooks as .xlsx"):
        read_data(tmp_path / "old.xls")
    with pytest.raises(DataError, match="missing.csv.*file not found"):
        read_data(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        read_data(tmp_path / "empty.csv")
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    with pytest.raises(DataError, match="fake.xlsx.*Excel workbook"):
        read_data(tmp_path / "fake.xlsx")
    (tmp_path / "fake.dta").write_bytes(b"\x00\x01garbage")
    with pytest.raises(DataError, match="fake.dta.*Stata"):
        read_data(tmp_path / "fake.dta")
    with pytest.raises(ParameterError, match="path must be a file path"):
        read_data(42)
