"""The core's messages in both languages, kept apart until a shell shows them.

A `Text` is what the core says to a person: its Vietnamese and English halves (or a code of the
core catalogue, hatang_desktop/locale/<lang>/LC_MESSAGES/hatang_core.po, with its parameters). It
is also a str, the bilingual line "Vietnamese / English" the CLI prints, so code that formats or
logs a message keeps working; a shell that shows one language asks `render(lang)` instead of
cutting the line (a Vietnamese half may hold " / " itself: a path, "N/B", "dd/mm/yyyy").
"""

from __future__ import annotations

from typing import Any

from .catalogues import catalogue

DOMAIN = "hatang_core"


def coded(code: str, lang: str, **params: Any) -> str:
    """The core catalogue's text of `code` in `lang`, its {placeholders} filled."""
    text = catalogue(DOMAIN, lang)[code]
    return text.format(**params) if params else text


class Text(str):
    """One message in both languages; str() of it is the bilingual line. A `prefix` (the file the
    message is about) is said once on that line and before each language's text."""

    vi: str
    en: str
    code: str | None
    params: dict[str, Any]
    prefix: str

    def __new__(cls, vi: str, en: str | None = None, *, code: str | None = None,
                params: dict[str, Any] | None = None, prefix: str = "") -> Text:
        en = vi if en is None else en
        self = super().__new__(cls, prefix + (vi if vi == en else f"{vi} / {en}"))
        self._vi, self._en, self.code, self.params, self.prefix = vi, en, code, dict(params or {}), prefix
        self.vi, self.en = prefix + vi, prefix + en
        return self

    @classmethod
    def of(cls, code: str, **params: Any) -> Text:
        """The core catalogue's message `code`, rendered in both languages."""
        return cls(coded(code, "vi", **params), coded(code, "en", **params), code=code, params=params)

    def render(self, lang: str) -> str:
        """The text a shell in `lang` shows: from the catalogue when coded (any language it has),
        else the half written for that language (English for a language the code was not written in)."""
        if self.code is not None:
            try:
                return self.prefix + coded(self.code, lang, **self.params)
            except (FileNotFoundError, KeyError):
                pass
        return self.vi if lang == "vi" else self.en  # a third language reads English best

    def join(self, other: Text | tuple[str, str], sep: str = "; ") -> Text:
        """This message followed by `other`, language by language (a fault and its note)."""
        o_vi, o_en = (other.vi, other.en) if isinstance(other, Text) else other
        return Text(f"{self._vi}{sep}{o_vi}", f"{self._en}{sep}{o_en}", prefix=self.prefix)

    def prefixed(self, prefix: str) -> Text:
        """The same message about `prefix` (a file's path: "<path>: ...")."""
        return Text(self._vi, self._en, code=self.code, params=self.params, prefix=prefix + self.prefix)

    def __reduce__(self):  # pickled across worker processes (export_parallel)
        return (_rebuild, (self._vi, self._en, self.code, self.params, self.prefix))


def _rebuild(vi, en, code, params, prefix) -> Text:
    return Text(vi, en, code=code, params=params, prefix=prefix)


def in_language(message: Any, lang: str) -> str:
    """What a shell in `lang` shows of `message`: a Text's (or an error's) own half, anything else
    as it is. Never cut on " / "."""
    text = getattr(message, "text", None) if isinstance(message, BaseException) else message
    return text.render(lang) if isinstance(text, Text) else str(message)
