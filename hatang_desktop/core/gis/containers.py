"""Files that hold other files, and shapefiles' text encodings.

- A zipped shapefile (or a zip of GeoJSON, KML, GeoPackage files) is unpacked into a temporary
  folder and each file it holds read as if given alone; the zip is checked first (sizes, names)
  so that a zip bomb or a "../" name writes nothing outside that folder.
- A shapefile's .dbf text: a .cpg naming UTF-8 or any code page other than a Western one is
  honoured as it is. Otherwise (no .cpg, or one naming Windows-1252 / Latin-1, as the tools that
  wrote TCVN3 and VNI text name it) the text is read byte for byte and the reading that spells
  Vietnamese is taken: UTF-8 when the bytes are UTF-8, else TCVN3 (ABC) or VNI-Windows when
  that reading turns words into Vietnamese syllables (core/legacy_encodings), else Windows-1252.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from ..errors import InvalidInputError
from ..legacy_encodings import LABELS, detect_legacy, to_unicode

READABLE = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".kmz", ".csv")
MAX_UNPACKED = 2 * 1024 ** 3      # bytes a zip may unpack to
MAX_MEMBERS = 10_000
MAX_RATIO = 200                   # unpacked / packed size of one member beyond which it is a bomb
WESTERN = {"1252", "cp1252", "windows1252", "ansi1252", "ansi", "88591", "iso88591", "latin1", "l1",
           "ldid87", "ldid3", "ascii", "usascii"}
ENCODING_LABELS = {"utf-8": "UTF-8", "cp1252": "Windows-1252", **LABELS}


def unpack_zip(path: Path, into: Path) -> list[Path]:
    """The readable files of a zip, unpacked under `into` (shapefiles with their sidecar files)."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = [i for i in z.infolist() if not i.is_dir()]
            if len(infos) > MAX_MEMBERS:
                raise InvalidInputError(f"{path}: tệp zip có {len(infos)} tệp, quá nhiều / too many files in the zip")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNPACKED:
                raise InvalidInputError(f"{path}: tệp zip giải nén ra {total:,} byte, quá lớn / unpacks to too much")
            for info in infos:
                if info.file_size > 1024 ** 2 and info.file_size > MAX_RATIO * max(1, info.compress_size):
                    raise InvalidInputError(f"{path}: '{info.filename}' nén bất thường (zip bomb?) / abnormally "
                                            "compressed member")
            out = []
            for n, info in enumerate(infos):
                name = PurePosixPath(info.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts or name.name.startswith("__MACOSX") or \
                        "__MACOSX" in name.parts:
                    continue
                target = into.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
                out.append(target)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
        raise InvalidInputError(f"{path}: không phải tệp zip đọc được ({exc}) / not a readable zip file") from None
    except OSError as exc:
        from ..errors import environment_fault

        fault = environment_fault(exc, path)
        if fault is not None:
            raise fault from None
        raise InvalidInputError(f"{path}: không đọc được tệp zip ({exc}) / cannot read the zip file") from None
    readable = sorted(p for p in out if p.suffix.lower() in READABLE)
    if not readable:
        raise InvalidInputError(f"{path}: tệp zip không chứa tệp GIS nào (.shp, .gpkg, .geojson, .kml, .kmz, .csv) / "
                                "the zip holds no GIS file")
    return readable


def _sidecar(shp: Path, suffix: str) -> Path | None:
    for candidate in (shp.with_suffix(suffix), shp.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def declared_encoding(shp: Path) -> str | None:
    """The .cpg's code page, as written (None without a .cpg)."""
    cpg = _sidecar(shp, ".cpg")
    if cpg is None:
        return None
    try:
        return cpg.read_text("ascii", errors="replace").strip() or None
    except OSError:
        return None


def _folded(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def text_codec(shp: Path) -> str | None:
    """How the .dbf's text is read: "detect" (no .cpg, or a Western code page the legacy
    Vietnamese encodings hide behind: find the reading that spells Vietnamese), the Python codec
    its .cpg names ("utf-8", "cp1258"...: decoded here, byte for byte, since GDAL's iconv loses
    a Windows-1258 field's last letter waiting for a tone mark), or None (a code page Python
    does not know: GDAL reads it)."""
    import codecs
    import re

    declared = declared_encoding(shp)
    if declared is None or _folded(declared) in WESTERN:
        return "detect"
    folded = _folded(declared)
    if folded in ("utf8", "65001"):
        return "utf-8"
    number = re.search(r"(\d{3,5})$", folded)
    for candidate in (declared.strip(), f"cp{number.group(1)}" if number else None, folded):
        if not candidate:
            continue
        try:
            return codecs.lookup(candidate).name
        except LookupError:
            continue
    return None


def decode_text(values: list[str]) -> tuple[str, list[str]]:
    """(encoding, texts) for strings that are a .dbf's bytes read as Latin-1 (one character per
    byte): UTF-8 when every one is valid UTF-8 and one is not ASCII, else TCVN3 or VNI when that
    spells Vietnamese, else Windows-1252."""
    raw = [v.encode("latin-1", errors="replace") for v in values]
    if any(not r.isascii() for r in raw):
        try:
            decoded = [r.decode("utf-8") for r in raw]
            return "utf-8", decoded
        except UnicodeDecodeError:
            pass
    as_1252 = [_cp1252(r) for r in raw]
    legacy = detect_legacy(as_1252)
    if legacy:
        return legacy, [to_unicode(t, legacy) for t in as_1252]
    return "cp1252", as_1252


def _cp1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")
