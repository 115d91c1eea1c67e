"""Creating a database for a province: the `hatang init` operation."""

from __future__ import annotations

from pathlib import Path

from .admin_units import SOURCE, communes, find_province, install_province
from .errors import InvalidInputError
from .storage.database import Database, set_meta


def init_province_database(path: str | Path, province: str, *, overwrite: bool = False,
                           user: str | None = None, commune: str | None = None) -> Database:
    """An empty database for a province with its 2025 communes loaded. Returns it open.

    With `commune` (a 5-digit code of that province) the database is a commune's own survey: it
    still holds every commune of the province (neighbours are referenced at the border) but
    records its home commune, which the app zooms to and the workbook names as its scope."""
    chosen = find_province(province)  # before creating anything: a bad code writes nothing
    home = None
    if commune is not None:
        home = next((c for c in communes(chosen.code) if c.code == str(commune).strip()), None)
        if home is None:
            raise InvalidInputError(f"mã xã/phường {commune!r} không thuộc {chosen.name} / commune code "
                                    f"{commune!r} is not in {chosen.name}")
    db = Database.create(path, overwrite=overwrite)
    try:
        with db.operation(f"Khởi tạo cơ sở dữ liệu {chosen.name}", user=user,
                          source=SOURCE) as s:
            install_province(s, chosen)
            set_meta(s, "scope", "commune" if home else "province")
            set_meta(s, "province_code", chosen.code)
            set_meta(s, "province_name", chosen.name)
            if home:
                set_meta(s, "commune_code", home.code)
                set_meta(s, "commune_name", home.name)
    except BaseException:
        db.close()
        Path(path).unlink(missing_ok=True)
        raise
    return db
