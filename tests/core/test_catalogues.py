"""The message catalogues (hatang_desktop/locale/<lang>/LC_MESSAGES/*.po) are the source of every
text the UI and the core show: each language has every key, with the same placeholders, and every
key the code asks for exists. Read with Babel, as a translator's tool would read them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from hatang_desktop.core import catalogues, messages
from hatang_desktop.core.errors import FAULT_KINDS, FileFault, HatangError
from hatang_desktop.core.messages import Text, in_language

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "hatang_desktop" / "locale"
DOMAINS = ("hatang", "hatang_core")
PLACEHOLDER = re.compile(r"\{(\w+)[^{}]*\}")


def read(domain: str, lang: str):
    with (LOCALE / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
        return read_po(f, locale=lang, domain=domain)


def entries(domain: str, lang: str) -> dict[str, object]:
    return {m.id: m for m in read(domain, lang) if m.id}


def languages() -> list[str]:
    return sorted(p.name for p in LOCALE.iterdir() if p.is_dir())


def code_files() -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "hatang_desktop").rglob("*.py"))]


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_language_has_the_same_keys_and_placeholders(domain):
    langs = languages()
    assert {"en", "vi"} <= set(langs)
    first = entries(domain, langs[0])
    assert len(first) > (500 if domain == "hatang" else 20)
    for lang in langs[1:]:
        other = entries(domain, lang)
        assert sorted(other) == sorted(first), f"{lang}: keys differ from {langs[0]}"
        for key, message in first.items():
            a, b = set(PLACEHOLDER.findall(message.string)), set(PLACEHOLDER.findall(other[key].string))
            assert a == b, f"{domain} {key}: placeholders {sorted(a)} in {langs[0]}, {sorted(b)} in {lang}"


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_entry_is_translated_explained_and_flagged(domain, lang):
    flagged = brace_flagged(domain, lang)
    for key, message in entries(domain, lang).items():
        assert message.string.strip(), f"{lang}/{domain}.po: {key} has no text"
        assert not message.fuzzy, f"{lang}/{domain}.po: {key} is fuzzy (a translator's doubt left in)"
        assert message.auto_comments, f"{lang}/{domain}.po: {key} has no context comment (#.)"
        if PLACEHOLDER.search(message.string):
            assert key in flagged, f"{lang}/{domain}.po: {key} lacks '#, python-brace-format'"
            assert any("{" in c for c in message.auto_comments), f"{key}: its placeholders are not explained"


def brace_flagged(domain: str, lang: str) -> set[str]:
    """Keys flagged python-brace-format, read from the file: Babel's Message keeps that flag only
    when the msgid itself has braces (ours are keys), yet Poedit and msgfmt --check use it."""
    text = (LOCALE / lang / "LC_MESSAGES" / f"{domain}.po").read_text(encoding="utf-8")
    return {m.group(1) for block in text.split("\n\n") if "python-brace-format" in block
            for m in [re.search(r'^msgid "(.+)"$', block, re.M)] if m}


def test_every_key_the_ui_asks_for_exists():
    keys = set(entries("hatang", "vi"))
    call = re.compile(r"""\b(?:tr|has|both|strings\.tr)\(\s*["']([a-z0-9_]+)["']""")
    missing = []
    used = set()
    for path, text in code_files():
        for key in call.findall(text):
            if key.endswith("_"):
                continue  # a prefix the call completes ("edit_hint_" + tool): not checkable here
            used.add(key)
            if key not in keys:
                missing.append(f"{path.relative_to(ROOT)}: {key}")
    assert len(used) > 350  # the call sites really were read
    assert missing == []


def test_every_core_code_the_code_raises_exists():
    keys = set(entries("hatang_core", "vi"))
    call = re.compile(r"""Text\.of\(\s*["']([a-z0-9_]+)["']""")
    missing = [f"{p.relative_to(ROOT)}: {k}" for p, text in code_files() for k in call.findall(text) if k not in keys]
    assert missing == []
    assert {f"fault_{k}" for k in FAULT_KINDS} <= keys


def test_a_missing_key_is_an_error():
    from hatang_desktop.ui import strings

    with pytest.raises(KeyError):
        strings.tr("no_such_key_anywhere")
    with pytest.raises(KeyError):
        Text.of("no_such_code")


def test_the_catalogue_is_read_once():
    catalogues.catalogue.cache_clear()
    first = catalogues.catalogue("hatang", "en")
    assert catalogues.catalogue("hatang", "en") is first
    assert catalogues.catalogue.cache_info().hits >= 1


def test_a_core_error_keeps_both_languages_apart():
    # A Vietnamese half holding " / " (a date format, a path) is never cut there.
    err = HatangError("ngày phải theo dạng dd/mm/yyyy / hoặc yyyy-mm-dd", "the date must read dd/mm/yyyy")
    assert err.vi == "ngày phải theo dạng dd/mm/yyyy / hoặc yyyy-mm-dd"
    assert in_language(err, "en") == "the date must read dd/mm/yyyy"
    assert str(err) == f"{err.vi} / {err.en}"  # the CLI's bilingual line
    fault = FileFault("/data/a.htdb", "disk_full")
    assert fault.text.render("vi") == "/data/a.htdb: ổ đĩa đã đầy; không ghi gì"
    assert fault.text.render("en") == "/data/a.htdb: the disk is full; nothing was written"
    assert str(fault) == "/data/a.htdb: ổ đĩa đã đầy; không ghi gì / the disk is full; nothing was written"
    # A coded message is rendered by the shell from the catalogue of its own language.
    coded = Text.of("db_schema_too_new", found=9, supported=5).prefixed("x.htdb: ")
    assert coded.render("en") == ("x.htdb: database schema version 9 is newer than the supported version 5; "
                                  "update Hạ tầng Desktop")
    assert coded.render("vi").startswith("x.htdb: cơ sở dữ liệu có phiên bản lược đồ 9")
    # A language the message was not written in (a third catalogue) shows the English text.
    assert err.text.render("fr") == "the date must read dd/mm/yyyy"
    # Anything else is shown as it is.
    assert in_language("a / b", "en") == "a / b"
    assert messages.in_language(ValueError("x / y"), "vi") == "x / y"
