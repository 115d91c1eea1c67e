"""Creating a database for a province: the `hatang init` operation."""

from __future__ import annotations

from pathlib import Path

from .admin_units import SOURCE, find_province, install_province
from .storage.database import Database, set_meta


def init_province_database(path: str | Path, province: str, *, overwrite: bool = False,
                           user: str | None = None) -> Database:
    """An empty database for a province with its 2025 communes loaded. Returns it open."""
    chosen = find_province(province)  # before creating anything: a bad code writes nothing
    db = Database.create(path, overwrite=overwrite)
    try:
        with db.operation(f"Khởi tạo cơ sở dữ liệu {chosen.name}", user=user,
                          source=SOURCE) as s:
            install_province(s, chosen)
            set_meta(s, "scope", "province")
            set_meta(s, "province_code", chosen.code)
            set_meta(s, "province_name", chosen.name)
    except BaseException:
        db.close()
        Path(path).unlink(missing_ok=True)
        raise
    return db
