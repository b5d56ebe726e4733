"""WSGI entry point for production servers: gunicorn 'wsgi:app'."""

from portal import create_app

app = create_app()

if not app.config["SESSION_COOKIE_SECURE"] and not app.debug:
    # Served without HTTPS settings: the session cookie may travel in clear and there is no HSTS.
    app.logger.warning(
        "PORTAL_SECURE_COOKIES is not 1: the session cookie is not Secure and no HSTS header is sent. "
        "Set PORTAL_SECURE_COOKIES=1 behind HTTPS (docs/deployment.md)."
    )

if app.config.get("SMTP_HOST") and not app.config.get("PUBLIC_URL") and not app.debug:
    # Reset links would name whatever host a request came to, and a client chooses its Host header.
    app.logger.warning(
        "PORTAL_SMTP_HOST is set but PORTAL_PUBLIC_URL is not: links in e-mails (password resets) name the "
        "host each request came to. Set PORTAL_PUBLIC_URL to the portal's address (docs/deployment.md)."
    )
