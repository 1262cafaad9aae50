"""The web application: JSON API and pages in one FastAPI app."""

import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from api.deps import Auth, csrf_protect, locale_for
from api.errors import NotSignedIn, UserFacingError
from api.routes import audit, calendar, complaints, deadlines, directory, tasks
from ui import pages, pages_casework
from ui.i18n import N_, gettext
from ui.render import render
from wuye.settings import get_settings

logger = logging.getLogger(__name__)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in (
        request.headers.get("accept", "")
    )


def _locale_of(request: Request) -> str:
    # Handlers cannot take dependencies; the auth the request resolved (if it
    # got that far) is on its state.
    auth = getattr(request.state, "auth", None) or Auth(actor=None, csrf_token="")
    return locale_for(request, auth)


async def user_facing_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, UserFacingError)
    locale = _locale_of(request)
    message = error.text(locale)
    if _wants_html(request):
        if isinstance(error, NotSignedIn):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return render(
            request,
            "error.html",
            {"message": message, "status": error.status_code},
            locale=locale,
            status_code=error.status_code,
        )
    body: dict[str, Any] = {"detail": message}
    fields = getattr(error, "fields", None)
    if fields:
        body["fields"] = {name: gettext(locale, text) for name, text in fields.items()}
    parameter = getattr(error, "parameter", None)
    if parameter:
        body["parameter"] = parameter
    return JSONResponse(body, status_code=error.status_code)


async def validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    locale = _locale_of(request)
    problems = [
        {
            "parameter": ".".join(str(part) for part in problem["loc"][1:]),
            "message": problem["msg"],
        }
        for problem in error.errors()
    ]
    first = problems[0]["parameter"] if problems else ""
    message = gettext(locale, N_("Please check {parameter}.")).format(parameter=first)
    return JSONResponse(
        {"detail": message, "parameter": first, "problems": problems}, status_code=422
    )


# Every router the app serves; the access tests walk this list, so a route
# cannot be added without its access rule being tested.
API_ROUTERS = (
    calendar.router,
    directory.router,
    deadlines.router,
    audit.router,
    tasks.router,
    complaints.router,
)
PAGE_ROUTERS = (pages.router, pages_casework.router)
DEVELOPMENT_ROUTERS = (pages.dev_router,)


def all_routes() -> list[APIRoute]:
    """The routes of every router, development ones included."""
    return [
        route
        for router in (*API_ROUTERS, *PAGE_ROUTERS, *DEVELOPMENT_ROUTERS)
        for route in router.routes
        if isinstance(route, APIRoute)
    ]


def create_app() -> FastAPI:
    """Build the app; settings and database come from the environment."""
    settings = get_settings()
    app = FastAPI(
        title="wuye",
        summary="Residential property governance procedures (物业治理)",
        dependencies=[Depends(csrf_protect)],
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.add_exception_handler(UserFacingError, user_facing_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    for router in (*API_ROUTERS, *PAGE_ROUTERS):
        app.include_router(router)
    if settings.is_development:
        for router in DEVELOPMENT_ROUTERS:
            app.include_router(router)
    return app


app = create_app()
