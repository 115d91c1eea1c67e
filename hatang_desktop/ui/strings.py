"""Every user-visible string of the desktop UI, Vietnamese first, English second.

The texts live in gettext catalogues, hatang_desktop/locale/<language>/LC_MESSAGES/hatang.po, one
per language, each entry a key (what the code passes to `tr`) with a comment saying where the text
appears and what its {placeholders} hold: the files translators open. A key missing from the
current language's catalogue is a KeyError, so a test catches it instead of a user seeing a key.
Record types, field labels and value lists come from forms/ through `core.schema`, which carries both
languages.
"""

from __future__ import annotations

from hatang_desktop.core.catalogues import catalogue, languages
from hatang_desktop.core.messages import Text, in_language

DOMAIN = "hatang"
# Every language with a catalogue, Vietnamese first: a new language is a new locale/<code>/ folder.
LANGUAGES = tuple(sorted(languages(DOMAIN), key=lambda code: (code != "vi", code)))
_language = "vi"


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


def format_number(value: float, decimals: int = 1) -> str:
    """1234.5 -> "1.234,5" in Vietnamese, "1,234.5" in English (core.text.format_decimal)."""
    from hatang_desktop.core.text import format_decimal

    return format_decimal(value, decimals, _language)


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
