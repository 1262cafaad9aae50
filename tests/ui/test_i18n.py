"""Every message shown to people has its Chinese translation."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ui.i18n import LOCALE_DIR, from_accept_language, gettext, normalise

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("api", "ui", "store", "wuye", "domain", "activities", "workflows")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [
    ("**/templates/**.html", "jinja2"),
    ("**.py", "python"),
]


def _extracted() -> set[str]:
    ids = set()
    for source in SOURCES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / source,
            METHODS,
            keywords=KEYWORDS,
            options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        ):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def _catalog() -> dict[str, str]:
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="zh_CN")
    return {m.id: m.string for m in catalog if m.id and not m.fuzzy}  # type: ignore[misc]


def test_every_extracted_message_has_a_chinese_translation() -> None:
    extracted = _extracted()
    catalog = _catalog()

    untranslated = sorted(m for m in extracted if not catalog.get(m))

    assert len(extracted) > 80
    assert not untranslated, f"run `make messages` and translate: {untranslated}"


def test_catalog_keeps_placeholders_of_each_message() -> None:
    import re

    placeholder = re.compile(r"%\(\w+\)s|\{\w+\}")

    for message, translation in _catalog().items():
        assert sorted(placeholder.findall(message)) == sorted(
            placeholder.findall(translation)
        ), message


def test_languages_resolve_from_browser_and_switch() -> None:
    assert from_accept_language("en-US,en;q=0.9") == "en"
    assert from_accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert from_accept_language("fr-FR") is None
    assert normalise("zh-Hans") == "zh_CN"
    assert gettext("zh_CN", "Sign in") == "登录"
    assert gettext("en", "Sign in") == "Sign in"
