"""Translations: Chinese first, English by a switch.

Message ids are English; the zh_CN catalog translates every one of them (a
test extracts the messages and fails on any left untranslated). Catalogs are
read from the `.po` files at start-up, so there is no compile step to forget.
"""

from functools import lru_cache
from gettext import NullTranslations
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")
LANG_COOKIE = "wuye_lang"


def normalise(locale: str | None) -> str | None:
    """Map what a browser or a user sends to one of LOCALES, or None."""
    if not locale:
        return None
    value = locale.strip().replace("-", "_").lower()
    if value.startswith("zh"):
        return "zh_CN"
    if value.startswith("en"):
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    """The first supported language of an Accept-Language header."""
    for part in (header or "").split(","):
        found = normalise(part.split(";")[0])
        if found:
            return found
    return None


@lru_cache
def translations(locale: str) -> NullTranslations:
    """The translations of a locale; English is the message ids themselves."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == "en" or not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(locale: str, message: str) -> str:
    return translations(locale).gettext(message)


def short(locale: str) -> str:
    """The language code the domain module's bilingual texts use."""
    return "en" if locale == "en" else "zh"


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message
