"""The gettext catalogues (.po) the program's texts are read from, one per language and domain.

hatang_desktop/locale/<language>/LC_MESSAGES/<domain>.po: `hatang` holds the desktop UI's texts
(ui/strings.tr), `hatang_core` the core's messages (core/messages). Each msgid is a key, each msgstr
that language's text; the files are the source translators edit (Poedit, Weblate, Lokalize open
them), so they are read as they are, with Babel, once per process and language.
"""

from __future__ import annotations

import functools
from importlib import resources

LOCALE_PACKAGE = "hatang_desktop"
LOCALE_DIR = "locale"


def catalogue_file(domain: str, lang: str):
    """The .po file of `domain` in `lang` (a Traversable: a path in a checkout, a wheel or a bundle)."""
    return resources.files(LOCALE_PACKAGE) / LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


@functools.cache
def catalogue(domain: str, lang: str) -> dict[str, str]:
    """key -> text of every translated entry. An empty msgstr is left out, so a text nobody has
    translated is a KeyError at the call (a test fails) rather than an empty label."""
    # Imported here: a CLI command that prints no message does not pay for Babel (~65 ms).
    from babel.messages.pofile import read_po

    with catalogue_file(domain, lang).open("rb") as f:
        cat = read_po(f, locale=None, domain=domain)
    return {m.id: m.string for m in cat if m.id and isinstance(m.id, str) and m.string}


def languages(domain: str) -> list[str]:
    """The languages that have a catalogue of `domain`."""
    root = resources.files(LOCALE_PACKAGE) / LOCALE_DIR
    return sorted(d.name for d in root.iterdir() if (d / "LC_MESSAGES" / f"{domain}.po").is_file())
