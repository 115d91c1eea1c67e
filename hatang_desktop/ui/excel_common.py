"""What the Excel export, Excel import and conflict dialogs share: the order and names of the
record types."""

from __future__ import annotations

RECORD_ORDER = ("sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones", "findings")


def record_label(record: str) -> str:
    from hatang_desktop.core.forms import load_forms

    try:
        return load_forms()[record].sheet.vi
    except KeyError:
        return record
