"""Links for notifications and e-mails, built with or without a request (jobs run outside one)."""

from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for


def path_for(endpoint: str, **values) -> str:
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost", script_name="/").build(endpoint, values)


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site ("/..."), else None: never bounce a user elsewhere.

    The one check of every `next`, referrer and return address. Browsers drop tabs and newlines from a
    URL and treat a backslash as a slash, so "/\t/evil.example" would become "//evil.example": any
    whitespace, control character or backslash refuses the target outright.
    """
    if not target or any(c.isspace() or not c.isprintable() or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return None
    if parts.scheme and (parts.scheme not in ("http", "https") or not parts.netloc):
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return f"{path}?{parts.query}" if parts.query else path


def back_or(default: str) -> str:
    """Where the user came from (same site only), else `default`."""
    return local_path(request.referrer) or default


def absolute_url(path: str) -> str:
    """`path` on this portal as a full URL, for e-mails: PORTAL_PUBLIC_URL when it is set, else the host
    the request came to (set PORTAL_PUBLIC_URL in production: a request's Host header is the client's)."""
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    if not base and has_request_context():
        base = request.host_url.rstrip("/")
    return f"{base or 'http://localhost'}{path}"
