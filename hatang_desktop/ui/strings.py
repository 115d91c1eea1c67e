"""Every user-visible string of the desktop UI, Vietnamese first, English second.

The texts live in gettext catalogues, hatang_desktop/locale/<language>/LC_MESSAGES/hatang.po, one
per language, each entry a key (what the code passes to `tr`) with a comment saying where the text
appears and what its {placeholders} hold: the files translators open. A key missing from the
current language's catalogue is a KeyError, so a test catches it instead of a user seeing a key.
Value lists (tower types, statuses...) come from `core.domain`, which already carries both languages.
"""

from __future__ import annotations

from hatang_desktop.core import domain
from hatang_desktop.core.catalogues import catalogue, languages
from hatang_desktop.core.messages import Text, in_language

DOMAIN = "hatang"
# Every language with a catalogue, Vietnamese first: a new language is a new locale/<code>/ folder.
LANGUAGES = tuple(sorted(languages(DOMAIN), key=lambda code: (code != "vi", code)))
_language = "vi"

# Record fields shown in the identify panel, in this order; others are not shown.
FIELDS: dict[str, tuple[str, str]] = {
    "site_code": ("Mã trạm", "Site code"),
    "code": ("Mã", "Code"),
    "name": ("Tên", "Name"),
    "operator_code": ("Doanh nghiệp", "Operator"),
    "co_operators": ("Doanh nghiệp cùng tuyến", "Co-operators"),
    "level": ("Cấp", "Level"),
    "unit_type": ("Loại", "Type"),
    "kind": ("Loại khu vực", "Kind"),
    "address": ("Địa chỉ", "Address"),
    "commune_code": ("Mã xã", "Commune code"),
    "commune": ("Xã, phường", "Commune"),
    "tower_type": ("Loại cột anten", "Tower type"),
    "height_m": ("Chiều cao (m)", "Height (m)"),
    "owner": ("Chủ sở hữu", "Owner"),
    "owner_kind": ("Chủ sở hữu", "Owner"),
    "material": ("Vật liệu", "Material"),
    "road": ("Tuyến đường", "Road"),
    "method": ("Phương thức lắp đặt", "Laying method"),
    "core_count": ("Số sợi", "Core count"),
    "length_m": ("Chiều dài (m)", "Length (m)"),
    "area_m2": ("Diện tích (m²)", "Area (m²)"),
    "population": ("Dân số", "Population"),
    "permit_no": ("Số giấy phép", "Permit number"),
    "permit_date": ("Ngày cấp phép", "Permit date"),
    "in_passive_plan": ("Trong quy hoạch hạ tầng thụ động", "In the passive-infrastructure plan"),
    "in_industrial_zone": ("Trong khu công nghiệp", "In an industrial zone"),
    "rule_id": ("Quy tắc", "Rule"),
    "severity": ("Mức độ", "Severity"),
    "status": ("Trạng thái", "Status"),
    "found_on": ("Ngày phát hiện", "Found on"),
    "inspector": ("Người kiểm tra", "Inspector"),
    "lat": ("Vĩ độ", "Latitude"),
    "lon": ("Kinh độ", "Longitude"),
    "note": ("Ghi chú", "Note"),
    "source_ref": ("Nguồn tham chiếu", "Reference source"),
    "updated_at": ("Cập nhật lúc", "Updated at"),
    "updated_by": ("Người cập nhật", "Updated by"),
    "uuid": ("UUID", "UUID"),
}

# Fields whose codes have labels in core.domain.
VALUE_LISTS = {
    "tower_type": domain.TOWER_TYPES, "method": domain.LAYING_METHODS, "kind": domain.ZONE_KINDS,
    "severity": domain.SEVERITIES, "owner_kind": domain.POLE_OWNERS, "material": domain.POLE_MATERIALS,
    "level": domain.ADMIN_LEVELS,
}
STATUS_LISTS = {"sites": domain.SITE_STATUSES, "findings": domain.FINDING_STATUSES}
FLAGS = {"in_passive_plan", "in_industrial_zone"}


def set_language(lang: str) -> None:
    """Switch every later `tr` to `lang` (an open window follows through ui/language_switch)."""
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    catalogue(DOMAIN, lang)  # a broken or missing catalogue fails here, before anything switched
    _language = lang


def language() -> str:
    return _language


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if _language == "vi" else pair[1]


def tr(key: str, **values) -> str:
    """The text of `key` in the current language, its {placeholders} filled from `values`."""
    text = catalogue(DOMAIN, _language)[key]
    return text.format(**values) if values else text


def has(key: str) -> bool:
    """Whether the catalogue has `key` (optional texts: a tooltip, a short toolbar label)."""
    return key in catalogue(DOMAIN, _language)


def field_label(name: str) -> str:
    return _pick(FIELDS[name]) if name in FIELDS else name


def choice_label(choices, code: str) -> str:
    return domain.label(choices, code, _language)


def format_number(value: float, decimals: int = 1) -> str:
    """1234.5 -> "1.234,5" in Vietnamese, "1,234.5" in English."""
    text = f"{value:,.{decimals}f}"
    if _language == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_int(n: int) -> str:
    """Thousands grouped the way each language writes them: 3.600 in Vietnamese, 3,600 in English."""
    text = f"{n:,}"
    return text.replace(",", ".") if _language == "vi" else text


def language_name(lang: str) -> str:
    """The language's own name for itself (Tiếng Việt, English), for the language lists."""
    from babel import Locale

    name = Locale.parse(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]


def message_text(message) -> str:
    """A core message or error (core.messages.Text, HatangError) as the current language shows it;
    any other text as it is, never cut on " / "."""
    return in_language(message, _language)


def both(key: str, **values) -> Text:
    """The text of `key` in Vietnamese and in English, for an error the UI raises into code that
    shows core errors (the CLI's bilingual line, another language later)."""
    vi, en = (catalogue(DOMAIN, lang)[key] for lang in ("vi", "en"))
    return Text(vi.format(**values), en.format(**values)) if values else Text(vi, en)
