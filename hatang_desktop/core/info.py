"""What a database holds, in numbers: `hatang info` and the app's status bar."""

from __future__ import annotations

from sqlalchemy import text

from . import schema
from .storage.database import Database

COUNTED = {
    "sites": "SELECT count(*) FROM sites WHERE deleted = 0",
    # Of them, reference points (OpenStreetMap, a list of coordinates) nobody has checked yet:
    # not counted in the indicators or the rules until verified.
    "sites_to_verify": "SELECT count(*) FROM sites WHERE deleted = 0 AND status = 'to_verify'",
    "site_tenants": "SELECT count(*) FROM site_tenants WHERE deleted = 0",
    "poles": "SELECT count(*) FROM poles WHERE deleted = 0",
    "pole_attachments": "SELECT count(*) FROM pole_attachments WHERE deleted = 0",
    "fibre_routes": "SELECT count(*) FROM fibre_routes WHERE deleted = 0",
    "zones": "SELECT count(*) FROM zones WHERE deleted = 0",
    "findings": "SELECT count(*) FROM findings WHERE deleted = 0",
    "communes": "SELECT count(*) FROM admin_units WHERE deleted = 0 AND level = 'commune'",
    "villages": "SELECT count(*) FROM admin_units WHERE deleted = 0 AND level = 'village'",
    "photos": "SELECT count(*) FROM photos WHERE deleted = 0",
}

# Record types as forms/ names them; the other counts in their own words.
LABELS_VI = {record: schema.record_label(record) for record in schema.RECORD_TYPES} | {
    "sites_to_verify": "trong đó trạm cần xác minh", "communes": "Xã, phường",
    "villages": "Thôn, bản, tổ dân phố", "photos": "Ảnh",
}


def database_info(db: Database, counts: bool = True) -> dict:
    """What the database is and holds. `counts=False` leaves "counts" and "shared_sites" None:
    counting the country's rows takes most of a second, the rest a millisecond (a window shows
    the map first and counts after)."""
    with db.session() as s:
        meta = dict(s.execute(text("SELECT key, value FROM meta")).all())
        if counts:
            counted = {key: s.execute(text(sql)).scalar_one() for key, sql in COUNTED.items()}
            shared = s.execute(text(
                "SELECT count(*) FROM (SELECT t.site_uuid FROM site_tenants t JOIN sites s "
                "ON s.uuid = t.site_uuid WHERE t.deleted = 0 AND s.deleted = 0 AND s.status <> 'to_verify' "
                "GROUP BY t.site_uuid HAVING count(DISTINCT t.operator_code) >= 2) AS shared")).scalar_one()
        else:
            counted = shared = None
    return {
        "schema_version": db.schema_version,
        "database_id": meta.get("database_id", ""),
        "scope": meta.get("scope", "province"),
        "province": {"code": meta.get("province_code", ""), "name": meta.get("province_name", "")},
        "commune": ({"code": meta["commune_code"], "name": meta.get("commune_name", "")}
                    if meta.get("commune_code") else None),
        "counts": counted,
        "shared_sites": shared,
        "sample_note": meta.get("sample_note"),
    }
