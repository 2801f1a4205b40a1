"""Data input: read .csv, .xlsx, .dta and .parquet files into a DataFrame, Chinese included.

:func:`read_data` picks the reader from the file extension. CSV files from Chinese
sources are often GBK/GB18030-encoded (Excel on Chinese Windows saves them so); without
``encoding=`` the reader tries UTF-8 (with or without a byte-order mark) and then
GB18030, a superset of GBK and GB2312. Stata value labels become pandas categoricals.
Anything else raises a :class:`~dtistat.errors.DataError` naming the file and the
formats that are accepted.
"""

from __future__ import annotations

import os
import warnings
import zlib
from pathlib import Path
from typing import Any

import pandas as pd

from dtistat._validate import warn
from dtistat.errors import DataError, ParameterError

__all__ = ["read_data", "READERS"]

READERS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".csv.gz": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".dta": "stata",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_VALID = ".csv (.tsv, .txt, .csv.gz), .xlsx (.xlsm), .dta, .parquet"
_AUTO_ENCODINGS = ("utf-8-sig", "gb18030")


def _suffix(p: Path) -> str:
    name = p.name.lower()
    for ext in sorted(READERS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return p.suffix.lower()


def read_data(
    path: str | os.PathLike,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    ordered: bool = True,
    **kwargs: Any,
) -> pd.DataFrame:
    """Read a data file (.csv, .xlsx, .dta or .parquet) into a DataFrame.

    Parameters
    ----------
    path : str or path-like
        The file; its extension chooses the reader: ``.csv`` (also ``.tsv`` and
        ``.txt`` tab- or comma-separated, and ``.csv.gz``), ``.xlsx``/``.xlsm``
        (openpyxl), ``.dta`` (Stata, any version pandas reads), ``.parquet`` (needs
        pyarrow).
    encoding : str, optional
        Text encoding of a CSV file (e.g. ``"gbk"``, ``"gb18030"``, ``"utf-8"``).
        Default: try UTF-8 (a byte-order mark is removed), then GB18030 (which reads
        GBK and GB2312 files); the encoding used is in ``df.attrs["encoding"]``.
    sheet : str or int, optional
        Excel sheet name or 0-based position (default: the first sheet).
    ordered : bool
        Stata files: whether value-labelled columns become *ordered* categoricals
        (in the order of their codes, as Likert scales are) or unordered ones.
    **kwargs
        Passed to the pandas reader (``usecols``, ``dtype``, ``sep``, ...).

    Returns
    -------
    DataFrame
        Column names as in the file (Chinese names are kept); ``attrs["source"]`` is
        the path.

    Raises
    ------
    DataError
        The file does not exist, cannot be decoded or parsed, has an extension that is
        not one of the formats above, or the sheet is not in the workbook;
        reading .parquet without pyarrow installed.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "城市.csv")
    >>> pd.DataFrame({"城市": ["北京市", "上海市"], "指数": [1.5, 2.0]}).to_csv(
    ...     p, index=False, encoding="gbk")
    >>> df = read_data(p)
    >>> list(df.columns), df.attrs["encoding"]
    (['城市', '指数'], 'gb18030')
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"path must be a file path, got {type(path).__name__}")
    p = Path(path)
    ext = _suffix(p)
    kind = READERS.get(ext)
    if kind is None:
        raise DataError(
            f"{str(p)!r}: cannot read files of type {ext or '(no extension)'!r}; "
            f"dtistat reads {_VALID}"
            + (" (save .xls workbooks as .xlsx)" if ext == ".xls" else "")
        )
    if not p.exists():
        raise DataError(f"{str(p)!r}: file not found")
    if p.is_dir():
        raise DataError(f"{str(p)!r} is a folder, not a data file")
    if encoding is not None and kind != "csv":
        raise ParameterError(f"encoding= applies to CSV files only, not {ext} ({str(p)!r})")
    if sheet is not None and kind != "excel":
        raise ParameterError(f"sheet= applies to Excel files only, not {ext} ({str(p)!r})")
    if kind == "csv":
        df, enc = _read_csv(p, ext, encoding, kwargs)
        df.attrs["encoding"] = enc
    elif kind == "excel":
        df = _read_excel(p, sheet, kwargs)
    elif kind == "stata":
        df = _read_stata(p, ordered, kwargs)
    else:
        df = _read_parquet(p, kwargs)
    df.attrs["source"] = str(p)
    return df


def _read_csv(p: Path, ext: str, encoding: str | None, kwargs: dict
              ) -> tuple[pd.DataFrame, str]:
    kw = dict(kwargs)
    if ext == ".tsv":
        kw.setdefault("sep", "\t")
    elif ext == ".txt":
        kw.setdefault("sep", None)  # sniff comma / tab / semicolon
        kw.setdefault("engine", "python")
    tries = (encoding,) if encoding is not None else _AUTO_ENCODINGS
    last: Exception | None = None
    for enc in tries:
        try:
            return pd.read_csv(p, encoding=enc, **kw), enc
        except UnicodeDecodeError as exc:
            last = exc
        except LookupError:
            raise ParameterError(f"encoding={encoding!r} is not a known text encoding"
                                 ) from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{str(p)!r} is empty (no columns to read)") from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise DataError(f"{str(p)!r} could not be parsed as CSV: {exc}".splitlines()[0]
                            ) from None
        except (zlib.error, EOFError, OSError) as exc:  # damaged .gz, unreadable file
            raise DataError(
                f"{str(p)!r} could not be read ({type(exc).__name__}: {exc})"
                + ("; the compressed file is damaged or truncated" if ext == ".csv.gz"
                   else "")) from exc
    raise DataError(
        f"{str(p)!r} is not valid text in {' or '.join(map(repr, tries))} ({last}); "
        "pass encoding= (e.g. 'gbk', 'big5', 'utf-16')"
    )


def _read_excel(p: Path, sheet: str | int | None, kwargs: dict) -> pd.DataFrame:
    try:
        with pd.ExcelFile(p, engine="openpyxl") as book:
            names = book.sheet_names
            if sheet is None:
                sheet = 0
            if isinstance(sheet, str) and sheet not in names:
                raise DataError(f"{str(p)!r} has no sheet {sheet!r}; its sheets are {names}")
            if isinstance(sheet, int) and not -len(names) <= sheet < len(names):
                raise DataError(f"{str(p)!r} has {len(names)} sheet(s) ({names}); "
                                f"sheet={sheet} is out of range")
            return pd.read_excel(book, sheet_name=sheet, **kwargs)
    except DataError:
        raise
    except ImportError:  # pragma: no cover - openpyxl is a core dependency
        raise DataError("reading .xlsx needs openpyxl: pip install openpyxl") from None
    except Exception as exc:  # zipfile.BadZipFile, openpyxl errors: not a workbook
        raise DataError(f"{str(p)!r} could not be read as an Excel workbook: "
                        f"{type(exc).__name__}: {exc}") from None


def _read_stata(p: Path, ordered: bool, kwargs: dict) -> pd.DataFrame:
    kw = dict(kwargs)
    kw.setdefault("convert_categoricals", True)
    kw.setdefault("order_categoricals", bool(ordered))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
            return pd.read_stata(p, **kw)
    except ValueError as exc:
        if "not unique" in str(exc) and kw.get("convert_categoricals"):
            # Two codes share one label: keep the codes rather than lose information.
            warn(f"{str(p)!r}: {str(exc).splitlines()[0]}; value labels were not "
                 "applied (the numeric codes are kept)")
            kw["convert_categoricals"] = False
            return pd.read_stata(p, **kw)
        raise DataError(f"{str(p)!r} could not be read as a Stata file: {exc}") from None
    except Exception as exc:
        raise DataError(f"{str(p)!r} could not be read as a Stata file: "
                        f"{type(exc).__name__}: {exc}") from None


def _read_parquet(p: Path, kwargs: dict) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DataError(
            f"{str(p)!r}: reading .parquet needs pyarrow, which is not installed; "
            "pip install pyarrow (or save the data as .csv, .xlsx or .dta)"
        ) from None
    try:
        return pd.read_parquet(p, engine="pyarrow", **kwargs)
    except Exception as exc:
        raise DataError(f"{str(p)!r} could not be read as Parquet: "
                        f"{type(exc).__name__}: {exc}") from None
