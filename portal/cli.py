"""Command line: flask --app portal init-db | create-account | create-user | create-api-key |
import-bookings | demo-data."""

import os
import sys
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from portal.demo import is_empty, load_demo_data
from portal.domain.booking_import import ImportRejected
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.jobs import configure_scheduler, run_all
from portal.services.api_keys import create_api_key, find_user
from portal.services.auth import create_account, create_user
from portal.services.bookings import import_bookings
from portal.services.setup import seed_defaults


def init_db() -> None:
    """Create or upgrade the schema to the latest migration, then seed defaults (idempotent)."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    seed_defaults()
    db.session.commit()


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the database schema and seed default refund-claim reasons."""
    init_db()
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("create-account")
@with_appcontext
@click.argument("code")
@click.option("--name", required=True, help="The agency's display name.")
@click.option("--currency", required=True, help="ISO 4217 code of the account's currency, e.g. SGD.")
@click.option("--service-fee", default="0.00", help="Service fee per refunded passenger (operator refunds).")
def create_account_command(code, name, currency, service_fee):
    """Create a client account."""
    try:
        fee = Decimal(service_fee)
        account = create_account(code, name, currency, service_fee=fee)
    except InvalidOperation:
        raise click.ClickException(f"--service-fee: not an amount: {service_fee}") from None
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Account {account.code} created ({account.name}, {account.currency}).")


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["agent", "agency_admin", "operations", "admin"]))
@click.option("--account", "account_code", help="Client account code (agents only).")
def create_user_command(email, name, role, account_code):
    """Create a user; the password (permanent: the operator's provisioning path) comes from
    PORTAL_NEW_PASSWORD, else it is prompted for. It must meet the password rule like any other."""
    password = os.environ.get("PORTAL_NEW_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    try:
        user = create_user(email, name, role, password, account_code)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"User {user.email} created ({user.role}{', ' + user.account.code if user.account else ''}).")


@click.command("create-api-key")
@with_appcontext
@click.argument("email")
@click.option("--name", required=True, help="What the key is for, e.g. the system that uses it.")
def create_api_key_command(email, name):
    """Create an API key for a user; the key is printed alone on the last line, once (only its hash is
    kept)."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No user with the e-mail address {email}.")
    try:
        key, secret = create_api_key(user, name, by=user)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"API key {key.name!r} created for {user.email}. It is shown once; keep it now:")
    click.echo(secret)


@click.command("import-bookings")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_bookings_command(file: Path):
    """Import bookings from a portal-bookings/1 JSON file: all of it, or nothing.

    On a terminal a progress line shows the bookings done, the rate and the time left."""
    with file.open("rb") as stream:
        line = ProgressLine(stream, file.stat().st_size, sys.stderr)
        try:
            result = import_bookings(stream, progress=line.update if line.shown else None)
        except ImportRejected as exc:
            line.clear()
            db.session.rollback()
            for error in exc.errors:
                click.echo(error, err=True)
            raise click.ClickException(f"{len(exc.errors)} error(s); nothing was imported.") from None
        line.clear()
    db.session.commit()
    click.echo(result.summary())
    for change in result.schedule_changes:
        click.echo(
            f"  schedule change {change.order_number} {change.flight_number}: {change.kind}, "
            f"departure {change.old_departure_local.isoformat()} -> {change.new_departure_local.isoformat()}"
        )


class ProgressLine:
    """One line on a terminal, rewritten as an import goes: bookings done, rate, time left (from the share
    of the file read). Nothing at all when the output is not a terminal (a log, a pipe, cron)."""

    def __init__(self, stream, size: int, out, clock=time.monotonic) -> None:
        self.shown = out.isatty()
        self._stream, self._size, self._out, self._clock = stream, size, out, clock
        self._started = clock()
        self._written = False

    def update(self, done: int) -> None:
        elapsed = max(self._clock() - self._started, 1e-6)
        rate = done / elapsed
        read = self._stream.tell() if not self._stream.closed else self._size
        share = min(read / self._size, 1.0) if self._size else 1.0
        left = elapsed * (1 - share) / share if share else 0.0
        self._out.write(f"\r{done:,} bookings checked · {rate:,.0f}/s · {_duration(left)} left\x1b[K")
        self._out.flush()
        self._written = True

    def clear(self) -> None:
        if self._written:
            self._out.write("\r\x1b[K")
            self._out.flush()


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def print_demo_logins() -> None:
    path = Path(current_app.instance_path) / "demo-logins.txt"
    if path.exists():
        click.echo("Demo logins (role, email, password):")
        click.echo(path.read_text().rstrip())


@click.command("demo-data")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only when the database has no bookings yet.")
def demo_data_command(if_empty):
    """Load demo accounts, users and bookings, and print the demo logins."""
    if not is_empty():
        if if_empty:
            print_demo_logins()
            return
        raise click.ClickException("The database already has bookings; demo data is for an empty database.")
    load_demo_data()
    db.session.commit()
    click.echo("Demo data loaded.")
    print_demo_logins()


def _label(item) -> str:
    """How a job's result names what it changed: a refund's code, a request's number, a file's name."""
    return getattr(item, "code", None) or getattr(item, "number", None) or str(item)


@click.command("run-jobs")
@with_appcontext
def run_jobs_command():
    """Run every scheduled job once and print what it changed (for cron)."""
    for name, result in run_all().items():
        if isinstance(result, list):
            codes = ", ".join(_label(r) for r in result) or "nothing"
            click.echo(f"{name}: {len(result)} flagged ({codes})")
        else:
            click.echo(f"{name}: {result}")


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the job scheduler in the foreground (one per deployment)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    app = current_app._get_current_object()
    scheduler = BlockingScheduler(timezone="UTC")
    configure_scheduler(app, scheduler)
    click.echo(
        f"Scheduler running: deadline jobs every {app.config['JOB_INTERVAL_SECONDS']} s, "
        f"outbox every {app.config['OUTBOX_INTERVAL_SECONDS']} s. Ctrl-C to stop."
    )
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Scheduler stopped.")


def init_app(app) -> None:
    for command in (
        run_jobs_command,
        scheduler_command,
        init_db_command,
        create_account_command,
        create_user_command,
        create_api_key_command,
        import_bookings_command,
        demo_data_command,
    ):
        app.cli.add_command(command)
