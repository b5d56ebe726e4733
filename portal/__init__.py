"""The post-ticketing portal: create_app() wires configuration, extensions, blueprints and CLI."""

from pathlib import Path

from flask import Flask, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from portal import config, inputs, uow
from portal.errors import problem
from portal.extensions import csrf, db, login_manager, migrate
from portal.forms import use_fast_html_params
from portal.htmx import add_vary, is_partial
from portal.inputs import ControlCharacters
from portal.links import header_part, list_name, requests_home
from portal.security import (
    ThrottledRefreshSessionInterface,
    csrf_token,
    is_api_request,
    require_own_password,
    set_security_headers,
)

MIGRATIONS = str(Path(__file__).parent / "migrations")


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    inputs.register_converters(app)
    use_fast_html_params()
    app.session_interface = ThrottledRefreshSessionInterface()
    config.load(app)
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.update(test_config)

    if app.config.get("PROXY_FIX"):
        # Behind one reverse proxy: take the client address from X-Forwarded-For, so login
        # throttling by address sees clients, not the proxy.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"

    from portal import models  # noqa: F401  (registers the tables)
    from portal.services.auth import load_user

    login_manager.user_loader(load_user)

    from portal.blueprints.admin.views import bp as admin_bp
    from portal.blueprints.agency.views import bp as agency_bp
    from portal.blueprints.api_keys.views import bp as api_keys_bp
    from portal.blueprints.apidocs.views import bp as apidocs_bp
    from portal.blueprints.auth.mfa import bp as mfa_bp
    from portal.blueprints.auth.views import bp as auth_bp
    from portal.blueprints.baggage.views import bp as baggage_bp
    from portal.blueprints.bookings.views import bp as bookings_bp
    from portal.blueprints.changes.views import bp as changes_bp
    from portal.blueprints.finance.views import bp as finance_bp
    from portal.blueprints.help.views import bp as help_bp
    from portal.blueprints.home.views import bp as home_bp
    from portal.blueprints.notifications.views import bp as notifications_bp
    from portal.blueprints.operations.views import bp as operations_bp
    from portal.blueprints.refunds.views import bp as refunds_bp
    from portal.blueprints.requests.admin import bp as request_admin_bp
    from portal.blueprints.requests.operations import bp as request_ops_bp
    from portal.blueprints.requests.views import bp as requests_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(bookings_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(refunds_bp)
    app.register_blueprint(operations_bp)
    app.register_blueprint(requests_bp)
    app.register_blueprint(request_ops_bp)
    app.register_blueprint(request_admin_bp)
    app.register_blueprint(finance_bp)
    app.register_blueprint(baggage_bp)
    app.register_blueprint(changes_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(mfa_bp)
    app.register_blueprint(agency_bp)
    app.register_blueprint(api_keys_bp)
    app.register_blueprint(apidocs_bp)
    app.register_blueprint(help_bp)

    from portal.blueprints.api import views as api

    api.init_app(app)
    csrf.exempt(api.bp)  # bearer keys only: no cookie authenticates a call, so there is nothing to forge

    from portal import cli, filters

    cli.init_app(app)
    filters.init_app(app)
    _register_error_pages(app)
    app.before_request(require_own_password)  # after the user is loaded (_register_error_pages)
    uow.init_app(app)
    inputs.init_app(app)
    app.after_request(add_vary)
    app.after_request(set_security_headers)

    from portal.domain.deadlines import describe_duration, overdue_for
    from portal.domain.passwords import MIN_PASSWORD_LENGTH

    app.jinja_env.globals["min_password_length"] = MIN_PASSWORD_LENGTH
    # "My Bookings" for agents, "Bookings" for staff: templates ask, they never look at the role.
    app.jinja_env.globals["list_name"] = lambda which: list_name(current_user, which)
    app.jinja_env.globals["requests_home"] = lambda: requests_home(current_user)
    app.jinja_env.globals["header_part"] = lambda part: header_part(current_user, request.endpoint, part)
    app.jinja_env.globals["overdue_by"] = lambda received, now: describe_duration(overdue_for(received, now))

    @app.context_processor
    def portal_globals():
        from portal.services.finance import header_figures

        header = {
            "csrf_token": csrf_token,  # over Flask-WTF's: signed once, reused a few minutes per session
            "operator_name": app.config["OPERATOR_NAME"],
            "header_balances": [],
            "header_unread": 0,
        }
        if current_user.is_authenticated and not is_partial():
            # One query for the bell and the balance (agents only see a balance).
            account = current_user.account if current_user.is_agent else None
            header["header_unread"], header["header_balances"] = header_figures(current_user.id, account)
        return header

    if app.config["SCHEDULER"] == "inprocess" and not app.testing:
        # Only `make run` sets this: a single-process demo. Multi-worker servers run
        # `flask --app portal scheduler` once instead.
        from portal.jobs import start_in_process

        app.extensions["scheduler"] = start_in_process(app)

    @app.get("/healthz")
    def healthz():
        # The bare endpoint benchmarks compare every page against.
        return {"status": "ok"}

    return app


def _register_error_pages(app: Flask) -> None:
    def page(code: int, title: str, message: str):
        if is_api_request():  # the API answers every error, routed or not, as a problem document
            return problem(code, message)
        template = "errors/_error.html" if is_partial() else "errors/error.html"
        return render_template(template, code=code, title=title, message=message), code

    @app.errorhandler(400)
    def bad_request(e):
        return page(400, "Bad request", "The request could not be understood. Please go back and try again.")

    @app.errorhandler(ControlCharacters)
    def control_characters(e):
        return page(400, "Unreadable input", e.description)

    @app.errorhandler(CSRFError)
    def csrf_expired(e):
        return page(
            400,
            "This form has expired",
            "For your security the form expired or was opened in another session. "
            "Reload the page and submit it again; nothing was saved.",
        )

    @app.errorhandler(403)
    def forbidden(e):
        return page(403, "Not allowed", "Your role does not give access to this page.")

    @app.errorhandler(404)
    def not_found(e):
        return page(404, "Not found", "There is nothing here, or it is not available to your account.")

    @app.errorhandler(405)
    def method_not_allowed(e):
        return page(405, "Not allowed", "That action is not available here.")

    @app.errorhandler(413)
    def too_large(e):
        return page(413, "File too large", "Uploads are limited to 10 MB. Nothing was saved.")

    @app.errorhandler(500)
    def server_error(e):
        app.logger.error("Unhandled error on %s %s", request.method, request.path, exc_info=e)
        return page(
            500, "Something went wrong", "The error was logged. Nothing was half-saved; please try again."
        )

    @app.before_request
    def _touch_user():
        # Loading the user here makes a disabled user's request fail closed before any view runs.
        _ = current_user.is_authenticated
