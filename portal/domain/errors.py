"""The kinds of refusal every rule raises. Their messages are fit for the user.

The web layer maps each kind to one HTTP status in one table (portal/errors.py); services and the
domain only choose the kind.
"""


class DomainError(Exception):
    """A rule refused the action or its input (HTTP 422 unless a subclass says otherwise).

    `field` names the input the refusal is about, when there is one: forms show the message under that
    field and the API lists it in the problem's `errors`.
    """

    def __init__(self, message: str = "", *, field: str | None = None):
        super().__init__(message)
        self.field = field


class Conflict(DomainError):
    """The action collides with the current state: already done, taken or changed meanwhile (409)."""


class NotPermitted(DomainError):
    """The actor's role may not take this action on this object (403)."""
