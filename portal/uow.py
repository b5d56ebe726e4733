"""The unit of work: one commit per request, in one place.

A view loads, validates and calls services; services flush and never commit. After the view returns,
the request's work is committed when the response is a success (below 400) and rolled back otherwise
(an exception rolls back too: the session is removed at teardown). Views run a service call inside
`attempt()`: a refusal rolls back that attempt at once (so the page shows the state before it) and is
handed back with its HTTP status from the one error table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, flash, g, redirect

from portal.domain.errors import DomainError
from portal.errors import status_for
from portal.extensions import db
from portal.forms import ActionForm


@dataclass
class Outcome:
    """What an attempt came to: no error, or the refusal with its HTTP status."""

    error: DomainError | None = None
    status: int = 200

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def message(self) -> str | None:
        return None if self.error is None else str(self.error)

    def to_form(self, form) -> bool:
        """Show the refusal under the form field it names; False when it names none of the form's."""
        field = getattr(self.error, "field", None)
        if field is None or field not in form:
            return False
        form[field].errors = [*form[field].errors, self.message]
        return True


@contextmanager
def attempt() -> Iterator[Outcome]:
    """Run a state change; a DomainError rolls it back and is returned in the Outcome, not raised."""
    outcome = Outcome()
    try:
        yield outcome
    except DomainError as exc:
        db.session.rollback()
        outcome.error, outcome.status = exc, status_for(exc)


def keep_on_error() -> None:
    """Commit this request's writes even though it answers with an error status.

    Only for records that must survive the refusal they describe (a failed login counts towards the
    throttle in every worker).
    """
    g.uow_keep = True


def finish(response):
    """Commit a successful request's work, roll back a failed one's."""
    if response.status_code < 400 or g.get("uow_keep"):
        db.session.commit()
    else:
        db.session.rollback()
    return response


def init_app(app: Flask) -> None:
    app.after_request(finish)


def button(change: Callable[[], object], done: Callable[[], str], target: str):
    """A POST-only button (a row's Revoke, Disable, Redeliver…): the CSRF form, the change in an attempt,
    a flash of its outcome (`done()` words a success, after the change) and a 303 back to `target`."""
    if ActionForm().validate_on_submit():
        with attempt() as outcome:
            change()
        flash(outcome.message if outcome.failed else done(), "error" if outcome.failed else "success")
    return redirect(target, code=303)
