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

from domain.deadlines import basis_label
from ui.i18n import LOCALES, short, translations

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
    return env


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
