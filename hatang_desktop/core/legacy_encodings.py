"""Vietnamese text in the font encodings of the 1990s-2000s: TCVN3 (ABC) and VNI-Windows.

Offices still keep shapefiles whose .dbf text was typed with the .VnTime (TCVN3) or VNI-Times
fonts: the bytes are valid Windows-1252, so every program reads them without an error, but
"Hà Tĩnh" shows as "Hµ TÜnh" (TCVN3) or "Haø Tónh" (VNI). This module turns such bytes into
Unicode and tells which reading spells Vietnamese.

TCVN3 (TCVN 5712:1993, VN3, the ABC fonts) is one byte per letter: lower-case precomposed
letters in 0xA8-0xFE, the seven upper-case base letters (Ă Â Ê Ô Ơ Ư Đ) in 0xA1-0xA7. Upper-case
letters with a tone have no code: the capital fonts (.VnTimeH) draw the lower-case codes as
capitals, so they come back lower-case here. VNI-Windows writes a base letter followed by a mark
byte ("a" + "ø" = "à", "o" + "â" = "ô", "o" + "á" = "ố"), with single bytes for ơ ư đ and the
toned i's and ỵ.
"""

from __future__ import annotations

import re
import unicodedata

from .text import split_tones

# TCVN3: byte -> letter. Tones in the order grave, hook, tilde, acute, dot below.
_TCVN3_ROWS = {
    "àảãáạ": (0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ằẳẵắặ": (0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "ầẩẫấậ": (0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "èẻẽéẹ": (0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ềểễếệ": (0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "ìỉĩíị": (0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "òỏõóọ": (0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ồổỗốộ": (0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ờởỡớợ": (0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "ùủũúụ": (0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ừửữứự": (0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "ỳỷỹýỵ": (0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
    "ĂÂÊÔƠƯĐ": (0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7),
    "ăâêôơưđ": (0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE),
}
TCVN3_TO_UNICODE: dict[int, str] = {b: ch for letters, codes in _TCVN3_ROWS.items() for ch, b in zip(letters, codes)}

# VNI-Windows: the mark bytes as Windows-1252 shows them (lower-case marks after lower-case
# letters, upper-case marks after capitals), and the letters that are one byte.
_VNI_TONES = {"ø": "\u0300", "ù": "\u0301", "û": "\u0309", "õ": "\u0303", "ï": "\u0323",
              "Ø": "\u0300", "Ù": "\u0301", "Û": "\u0309", "Õ": "\u0303", "Ï": "\u0323"}
# Circumflex + tone after a, e, o; breve + tone after a.
_VNI_CIRCUMFLEX = {"â": "", "á": "\u0301", "à": "\u0300", "å": "\u0309", "ã": "\u0303", "ä": "\u0323",
                   "Â": "", "Á": "\u0301", "À": "\u0300", "Å": "\u0309", "Ã": "\u0303", "Ä": "\u0323"}
_VNI_BREVE = {"ê": "", "é": "\u0301", "è": "\u0300", "ú": "\u0309", "ü": "\u0303", "ë": "\u0323",
              "Ê": "", "É": "\u0301", "È": "\u0300", "Ú": "\u0309", "Ü": "\u0303", "Ë": "\u0323"}
_VNI_SINGLE = {"ñ": "đ", "Ñ": "Đ", "ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư",
               "ì": "ì", "í": "í", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "Ì": "Ì", "Í": "Í", "Æ": "Ỉ", "Ó": "Ĩ", "Ò": "Ị",
               "î": "ỵ", "Î": "Ỵ"}


def _vni_pairs() -> dict[str, str]:
    out: dict[str, str] = {}
    for base in "aeouyAEOUY":
        for mark, tone in _VNI_TONES.items():
            out[base + mark] = unicodedata.normalize("NFC", base + tone)
    for base in "aeoAEO":
        for mark, tone in _VNI_CIRCUMFLEX.items():
            out[base + mark] = unicodedata.normalize("NFC", base + "\u0302" + tone)
    for base in "aA":
        for mark, tone in _VNI_BREVE.items():
            out[base + mark] = unicodedata.normalize("NFC", base + "\u0306" + tone)
    for base, letter in (("ô", "ơ"), ("Ô", "Ơ"), ("ö", "ư"), ("Ö", "Ư")):
        for mark, tone in _VNI_TONES.items():
            out[base + mark] = unicodedata.normalize("NFC", letter + tone)
    return out


VNI_PAIRS = _vni_pairs()
_VNI_RE = re.compile("|".join(sorted(map(re.escape, VNI_PAIRS), key=len, reverse=True)) + "|"
                     + "|".join(map(re.escape, _VNI_SINGLE)))


def _cp1252(data: bytes) -> str:
    """Bytes as Windows-1252 shows them; its five unassigned bytes (0x81, 0x8D, 0x8F, 0x90,
    0x9D) as Latin-1 does."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return "".join(_cp1252_byte(b) for b in data)


def _cp1252_byte(b: int) -> str:
    try:
        return bytes([b]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(b)


def tcvn3_to_unicode(data: bytes | str) -> str:
    """TCVN3 (ABC) bytes, or text that is those bytes read as Latin-1/Windows-1252, as Unicode."""
    if isinstance(data, str):
        data = _as_bytes(data)
    return "".join(TCVN3_TO_UNICODE.get(b) or _cp1252(bytes([b])) for b in data)


def vni_to_unicode(data: bytes | str) -> str:
    """VNI-Windows bytes, or text that is those bytes read as Windows-1252, as Unicode."""
    text = _cp1252(data) if isinstance(data, bytes) else _cp1252(_as_bytes(data))
    return _VNI_RE.sub(lambda m: VNI_PAIRS.get(m.group(0)) or _VNI_SINGLE[m.group(0)], text)


def _as_bytes(text: str) -> bytes:
    """The bytes a single-byte reading made `text` from (Windows-1252 first, else Latin-1)."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            out += ch.encode("latin-1", errors="replace")
    return bytes(out)


# -- which reading spells Vietnamese ------------------------------------------------------------

_INITIAL = r"(?:ngh|ng|gh|gi|kh|nh|ph|th|tr|ch|qu|[bcdđghklmnprstvx])?"
_NUCLEUS = ("a|ă|â|e|ê|i|o|ô|ơ|u|ư|y|ai|ao|au|ay|âu|ây|eo|êu|ia|iê|iu|oa|oă|oe|oi|oo|ôi|ơi|ua|uâ|uê|ui|uô|uy|"
            "ưa|ưi|ươ|ưu|ya|yê|uơ|iêu|yêu|oai|oay|oao|oeo|uây|uôi|ươi|ươu|uya|uyê|uyu")
_FINAL = r"(?:ch|ng|nh|[cmnpt])?"
_SYLLABLE = re.compile(f"^{_INITIAL}(?:{_NUCLEUS}){_FINAL}$")


def is_vietnamese_word(word: str) -> bool:
    """A Vietnamese syllable: an initial, a vowel nucleus and a final that the language has,
    and at most one tone."""
    bare, tones = split_tones(word.lower())
    return len(tones) <= 1 and bool(_SYLLABLE.match(bare))


READINGS = {"tcvn3": tcvn3_to_unicode, "vni": vni_to_unicode}
LABELS = {"tcvn3": "TCVN3 (ABC)", "vni": "VNI-Windows"}
# A word as these encodings make it: anything between spaces, digits and ASCII punctuation (the
# TCVN3 "ư" is a soft hyphen and "Đ" a section sign, so letters alone would cut words in two).
_TOKEN = re.compile(r"[^\s\d!-/:-@\[-`{-~]+")


def detect_legacy(texts: list[str]) -> str | None:
    """'tcvn3' or 'vni' when texts read as Windows-1252 (or Latin-1) spell Vietnamese only when
    read in that encoding; None when they read well as they are (or in neither).

    Only the words a reading changes are evidence: nine in ten of them must become Vietnamese
    syllables, and more of them than as they are. Plain ASCII says nothing; text that already
    spells Vietnamese, or a French or German name, stays as it is."""
    tokens = [tok for t in texts if isinstance(t, str) and not t.isascii()
              for tok in _TOKEN.findall(t) if not tok.isascii()][:5000]
    best, best_good = None, 0
    for name, read in READINGS.items():
        changed = [(tok, new) for tok in tokens if (new := read(tok)) != tok]
        if not changed:
            continue
        before = sum(is_vietnamese_word(old) for old, _ in changed)
        after = sum(is_vietnamese_word(new) for _, new in changed)
        if after * 10 >= len(changed) * 9 and after > before and after > best_good:
            best, best_good = name, after
    return best


def to_unicode(text: str, encoding: str) -> str:
    return READINGS[encoding](text)
