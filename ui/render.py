"""Render Jinja2 pages in the request's language.

A handler renders a whole page; an htmx request for the same URL may ask for
one block of that page instead (the `partial` argument), so a page and its
fragments come from one template.
"""

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from domain.deadlines import basis_label
from ui.i18n import LOCALES, N_, short, translations

TEMPLATE_DIR = Path(__file__).parent / "templates"


@lru_cache
def environment(locale: str) -> Environment:
    """One environment per language, each with its translations installed."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: checking their files for changes on
        # every render costs each page view for nothing.
        auto_reload=False,
    )
    # The i18n extension adds this method at run time; mypy cannot see it.
    install = env.install_gettext_translations  # type: ignore[attr-defined]
    install(translations(locale), newstyle=True)
    env.globals["locales"] = LOCALES
    language = short(locale)
    env.filters["basis"] = lambda basis: basis_label(basis, language)
    words = DeadlineWords(locale)
    env.globals["kind_words"] = words.kind
    env.globals["period"] = words.period
    env.globals["remaining"] = words.remaining
    return env


_KINDS = {
    "working_days": N_("working days"),
    "calendar_days": N_("calendar days"),
    "months": N_("months"),
    "years": N_("years"),
}
_FIXED_DATE = N_("fixed date")
_LEFT = N_("%(n)s working days left")
_LATE = N_("overdue by %(n)s working days")


class DeadlineWords:
    """How a deadline reads in one language: its kind, period and days left.

    Plain functions rather than template macros: an inbox shows these for
    every row, and a macro with a translation per call is the slower part
    of rendering it.
    """

    def __init__(self, locale: str) -> None:
        gettext = translations(locale).gettext
        self._kinds = {kind: gettext(words) for kind, words in _KINDS.items()}
        self._fixed_date = gettext(_FIXED_DATE)
        self._left = gettext(_LEFT)
        self._late = gettext(_LATE)
        self._language = short(locale)
        self._space = " " if locale == "en" else ""

    def kind(self, kind: str) -> str:
        """The words of a period kind (procedures §1): working days, months..."""
        return self._kinds.get(kind, self._fixed_date)

    def period(self, amount: int, kind: str, basis: str) -> str:
        """Amount, kind and legal basis, e.g. 7个工作日 · 《工作指引》第76条."""
        label = basis_label(basis, self._language)
        return f"{amount}{self._space}{self.kind(kind)} · {label}"

    def remaining(self, days: int | None) -> Markup:
        """Working days left, or a red "overdue by" when negative."""
        if days is None:
            return Markup("")
        if days < 0:
            late = escape(self._late % {"n": -days})
            return Markup(f'<span class="late">{late}</span>')
        return escape(self._left % {"n": days})


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    locale: str,
    status_code: int = 200,
    partial: str | None = None,
) -> HTMLResponse:
    """The page, or only block `partial` of it when htmx asks for it."""
    env = environment(locale)
    auth = getattr(request.state, "auth", None)
    full = {
        "request": request,
        "locale": locale,
        "actor": auth.actor if auth else None,
        "csrf_token": auth.csrf_token if auth else "",
        **context,
    }
    compiled = env.get_template(template)
    if partial and request.headers.get("HX-Request") == "true":
        block = compiled.blocks[partial]
        html = "".join(block(compiled.new_context(full)))
    else:
        html = compiled.render(full)
    return HTMLResponse(html, status_code=status_code)
