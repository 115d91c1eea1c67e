"""A GIS file's attribute values as the import takes them: None for what holds no value (null,
NaN, blank text), Python numbers, dates and text in NFC, nested values as JSON text. A column at
a time, from GDAL's raw reading (numpy arrays) or its Arrow stream (pyarrow arrays)."""

from __future__ import annotations

import datetime as dt
import json
import math
import unicodedata

import numpy as np
import pandas as pd


def clean_value(v):
    """A property value as the import takes it: None for what holds no value (null, NaN, NaT,
    blank text), Python numbers, dates and text; a list, a dict or nested values as JSON text and
    bytes as text (UTF-8, else hexadecimal), so the forms name what does not fit a field instead
    of the reader failing on it."""
    if v is None or v is pd.NaT:    # NaT is a datetime too
        return None
    if isinstance(v, str):
        # One spelling of each letter: a .dbf in Windows-1258 or a Mac's file gives "ĩ" as i + ~.
        return unicodedata.normalize("NFC", v) if v.strip() else None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, pd.Timestamp) or isinstance(v, np.datetime64):
        stamp = pd.Timestamp(v)
        return None if pd.isna(stamp) else stamp.to_pydatetime()
    if isinstance(v, (dt.date, dt.time)):
        return v
    if isinstance(v, (bytes, bytearray, memoryview)):
        raw = bytes(v)
        try:
            return raw.decode("utf-8") or None
        except UnicodeDecodeError:
            return raw.hex()
    if isinstance(v, (np.ndarray, list, tuple, set, dict)):
        plain = _plain(v)
        return None if plain in ([], {}) else json.dumps(plain, ensure_ascii=False, default=str)
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def _plain(v):
    """Nested values as JSON can hold them (numpy arrays and scalars, sets, NaN as null)."""
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", errors="replace")
    return v


def clean_column(column) -> list:
    """clean_value over a column (a numpy array as GDAL's raw reading gives it, or a pyarrow array):
    numbers, booleans and text without a call per value where the column's type allows (a
    country's poles are a million values per column)."""
    if not isinstance(column, np.ndarray) and hasattr(column, "null_count"):
        return _clean_arrow(column)
    series = column if isinstance(column, pd.Series) else pd.Series(column, dtype=object) \
        if getattr(column, "dtype", None) == object else pd.Series(column)
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        values = series.to_numpy()
        out = values.tolist()   # Python floats, ints and bools, as clean_value gives them
        if dtype.kind == "f":
            for i in np.flatnonzero(np.isnan(values)).tolist():
                out[i] = None
        return out
    out = series.to_numpy(dtype=object, na_value=None).tolist() if not isinstance(dtype, np.dtype) \
        else series.to_numpy(dtype=object).tolist()
    normalize = unicodedata.normalize
    for i, v in enumerate(out):
        if type(v) is str:
            out[i] = normalize("NFC", v) if v.strip() else None
        elif v is not None:
            out[i] = clean_value(v)
    return out


def _clean_arrow(column) -> list:
    """clean_column of a pyarrow column, the column turned into Python values at once."""
    import pyarrow as pa

    n = len(column)
    if column.null_count == n:
        return [None] * n
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _clean_text(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column)
    if pa.types.is_floating(kind):
        values = column.to_numpy(zero_copy_only=False)
        out = values.tolist()
        for i in np.flatnonzero(np.isnan(values)).tolist():
            out[i] = None
        return out
    if column.null_count:
        return column.to_pylist()   # whole numbers and booleans stay so, nulls None
    return column.to_numpy(zero_copy_only=False).tolist()


def _clean_text(column) -> list:
    """A text column as clean_value gives it (blank None, else NFC). Each distinct text is cleaned and
    made a Python string once (a material, an owner, a commune repeat over a country's poles);
    a column of codes or UUIDs, all ASCII, needs no NFC and only its blanks found."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(column)
    normalize = unicodedata.normalize
    encoded = pc.dictionary_encode(column)
    distinct = encoded.dictionary
    if 2 * len(distinct) <= n:
        texts = distinct.to_pylist()
        cleaned = np.empty(len(texts) + 1, dtype=object)
        cleaned[:] = [normalize("NFC", v) if v.strip() else None for v in texts] + [None]
        return cleaned[encoded.indices.fill_null(len(texts)).to_numpy(zero_copy_only=False)].tolist()
    if pc.all(pc.string_is_ascii(distinct)).as_py():
        blank = pc.equal(pc.utf8_trim_whitespace(column), "")
        if pc.any(blank).as_py():
            column = pc.if_else(blank, pa.scalar(None, column.type), column)
        return column.to_numpy(zero_copy_only=False).tolist()
    out = column.to_numpy(zero_copy_only=False).tolist()
    for i, v in enumerate(out):
        if v is not None:
            out[i] = normalize("NFC", v) if v.strip() else None
    return out


# Distinct texts looked at per column to tell whether it was typed in TCVN3 or VNI.
LEGACY_SAMPLE = 2000
# Text made only of characters a Windows-1252 or Latin-1 reading of bytes gives.
_SINGLE_BYTE_TEXT = "^[\\x00-\\x{ff}€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]*$"


def _single_byte_reading(text: str) -> bool:
    """Whether `text` can be what a Windows-1252 or Latin-1 reading of bytes made (a Vietnamese
    letter outside both, such as "ệ" or "Đ", says it is Unicode already)."""
    for codec in ("cp1252", "latin-1"):
        try:
            text.encode(codec)
            return True
        except UnicodeEncodeError:
            pass
    return False


def legacy_candidates(column) -> list[str]:
    """The distinct texts of a column, beyond ASCII, that may be TCVN3 or VNI read as Windows-1252
    (a GeoJSON, GeoPackage or CSV saved from an old office file by a tool that took its bytes
    for Western text). From GDAL's Arrow stream in C; from a raw reading, per value."""
    if hasattr(column, "null_count"):
        import pyarrow as pa
        import pyarrow.compute as pc

        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            return []
        beyond = pc.unique(pc.filter(column, pc.invert(pc.string_is_ascii(column))))
        # Unicode Vietnamese nearly always holds a letter no single-byte reading gives (ạ, ư, đ):
        # those texts are dropped here, in C, before any becomes a Python string.
        texts = pc.filter(beyond, pc.match_substring_regex(beyond, _SINGLE_BYTE_TEXT)).to_pylist()
    elif getattr(column, "dtype", None) == object:
        texts = list({v for v in column if type(v) is str and not v.isascii()})
    else:
        return []
    return [t for t in texts if _single_byte_reading(t)]


def convert_legacy(name: str, column, cleaned: list) -> str | None:
    """Texts of the column typed in TCVN3 or VNI, converted to Unicode in `cleaned` (clean_column's
    output, changed in place); the note that says so, or None when the column reads as it is.
    Only texts a single-byte reading can have made are converted, so a column that mixes them
    with proper Unicode ("Điện lực" beside its TCVN3 spelling) keeps the Unicode ones."""
    from ..legacy_encodings import LABELS, detect_legacy, to_unicode

    texts = legacy_candidates(column)
    if not texts:
        return None
    encoding = detect_legacy(sorted(texts)[:LEGACY_SAMPLE])
    if encoding is None:
        return None
    normalize = unicodedata.normalize
    table = {}
    for text in texts:
        clean = normalize("NFC", text)
        table[clean] = normalize("NFC", to_unicode(clean, encoding))
    for i, v in enumerate(cleaned):
        if type(v) is str and v in table:
            cleaned[i] = table[v]
    label = LABELS[encoding]
    return (f"thuộc tính '{name}': văn bản mã {label}, đã chuyển sang Unicode / attribute '{name}': text in "
            f"{label}, converted to Unicode")
