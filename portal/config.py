"""Configuration: defaults, then PORTAL_* environment variables, then instance/config.py."""

import os
import secrets
from pathlib import Path


def _secret_key(instance_path: str) -> str:
    """Return PORTAL_SECRET_KEY, else a key generated once and kept in instance/secret_key."""
    key = os.environ.get("PORTAL_SECRET_KEY")
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: two workers starting at once must agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def load(app) -> None:
    """Fill app.config from defaults and the environment."""
    instance = app.instance_path
    env = os.environ
    secure = env.get("PORTAL_SECURE_COOKIES", "0") == "1"
    app.config.update(
        SECRET_KEY=_secret_key(instance),
        SQLALCHEMY_DATABASE_URI=env.get("PORTAL_DATABASE_URL") or f"sqlite:///{Path(instance) / 'portal.db'}",
        # No pool_pre_ping: extensions.PING_AFTER_IDLE_SECONDS tests only connections that sat unused.
        SQLALCHEMY_ENGINE_OPTIONS={},
        UPLOAD_DIR=env.get("PORTAL_UPLOAD_DIR") or str(Path(instance) / "uploads"),
        OPERATOR_NAME=env.get("PORTAL_OPERATOR_NAME", "Atlas"),
        TIMEZONE=env.get("PORTAL_TIMEZONE", "Asia/Singapore"),
        SCHEDULER=env.get("PORTAL_SCHEDULER", "off"),
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        MAX_UPLOAD_BYTES=10 * 1024 * 1024,
        # Admin → Import: the largest file taken, and the size from which the job runner imports it (the
        # page shows its progress) rather than the web worker while the page waits.
        IMPORT_MAX_BYTES=int(env.get("PORTAL_IMPORT_MAX_BYTES", str(2 * 1024**3))),
        IMPORT_IN_BACKGROUND_BYTES=int(env.get("PORTAL_IMPORT_IN_BACKGROUND_BYTES", str(2 * 1024**2))),
        # A background import without progress for this long lost its runner: shown as interrupted.
        IMPORT_STALE_MINUTES=int(env.get("PORTAL_IMPORT_STALE_MINUTES", "10")),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Behind HTTPS: a Secure cookie with the __Host- prefix (no Domain, Path=/, so no subdomain can
        # plant or read it) and HSTS on every response (portal/security.py).
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME="__Host-session" if secure else "session",
        HSTS_SECONDS=63072000 if secure else 0,
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        # Login throttling (portal/services/throttle.py): within one window, at most this many attempts
        # for one e-mail from one address, a much higher ceiling for one e-mail from everywhere, and a
        # limit for one address whatever the e-mail; a successful login does not count.
        LOGIN_MAX_FAILURES=5,
        LOGIN_MAX_FAILURES_PER_EMAIL=50,
        LOGIN_MAX_FAILURES_PER_ADDRESS=20,
        LOGIN_WINDOW_SECONDS=15 * 60,
        # 1: operations and admins must set up a second factor before they can do anything else.
        REQUIRE_MFA_FOR_STAFF=env.get("PORTAL_REQUIRE_MFA_FOR_STAFF", "0") == "1",
        PER_PAGE=25,
        # Scheduled jobs (portal/jobs.py) and e-mail; no SMTP host means in-app notifications only.
        JOB_INTERVAL_SECONDS=int(env.get("PORTAL_JOB_INTERVAL_SECONDS", "60")),
        OUTBOX_INTERVAL_SECONDS=int(env.get("PORTAL_OUTBOX_INTERVAL_SECONDS", "30")),
        SMTP_HOST=env.get("PORTAL_SMTP_HOST", ""),
        SMTP_PORT=int(env.get("PORTAL_SMTP_PORT", "587")),
        SMTP_USER=env.get("PORTAL_SMTP_USER", ""),
        SMTP_PASSWORD=env.get("PORTAL_SMTP_PASSWORD", ""),
        SMTP_FROM=env.get("PORTAL_SMTP_FROM", "portal@localhost"),
        SMTP_STARTTLS=env.get("PORTAL_SMTP_STARTTLS", "1") == "1",
        PUBLIC_URL=env.get("PORTAL_PUBLIC_URL", ""),
        PROXY_FIX=env.get("PORTAL_PROXY_FIX", "0") == "1",
        ARGON2_PROFILE="default",
        # The agency API (/api/v1): calls a minute per key, shared by every worker (api_call_counter).
        API_RATE_LIMIT=int(env.get("PORTAL_API_RATE_LIMIT", "600")),
        # How long a refund quote given over the API may be used (POST /refunds), in seconds.
        API_QUOTE_TTL=int(env.get("PORTAL_API_QUOTE_TTL", "900")),
        # Webhooks to plain http:// and to private, loopback or link-local addresses (tests, a local demo
        # only: never in production).
        ALLOW_HTTP_WEBHOOKS=env.get("PORTAL_ALLOW_HTTP_WEBHOOKS", "0") == "1",
        # flask-smorest: the OpenAPI document the API's schemas generate, served at /api/v1/openapi.json.
        API_TITLE="Agency API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
