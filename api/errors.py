"""Errors a person can act on, translated where they are shown."""

from typing import Any

from ui.i18n import gettext


class UserFacingError(Exception):
    """An error whose message (an English msgid) is shown to the user."""

    status_code = 400

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def text(self, locale: str) -> str:
        """The message in the reader's language, its values filled in."""
        return gettext(locale, self.message).format(**self.params)


class NotAllowed(UserFacingError):
    status_code = 403


class NotFound(UserFacingError):
    status_code = 404


class Conflict(UserFacingError):
    status_code = 409


class NotSignedIn(UserFacingError):
    status_code = 401
