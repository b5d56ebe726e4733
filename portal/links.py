"""Links for notifications and e-mails, built with or without a request (jobs run outside one)."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, get_template_attribute, has_request_context, request, url_for
from markupsafe import Markup


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


# --- the main navigation ------------------------------------------------------------------------------------
# One home for what the header offers whom: the template draws these groups and compares no roles. Agents
# read "My ..." (their own account's lists); operations and admins see every account, so their labels drop
# the "My" (list_name, which the lists' own pages ask too). A group with `menu` set opens from a <details>
# menu (no JavaScript needed), which keeps the staff header on one line at 1366 px.


# The name of a list, in the header and on its own page (title, heading, crumbs, the guide): agents read
# their own account's ("My Bookings", the seed's label); staff, who see every account's, read "Bookings".
LIST_NAMES = {"bookings": ("My Bookings", "Bookings"), "requests": ("My Requests", "Requests")}


def list_name(user, which: str) -> str:
    """What `user` calls the list `which` ("bookings" or "requests")."""
    own, everyone = LIST_NAMES[which]
    return everyone if getattr(user, "is_staff", False) else own


def requests_home(user) -> tuple[str, str]:
    """Where a request's page leads back to (label, endpoint): staff work requests from the queue."""
    if getattr(user, "is_staff", False):
        return "Request queue", "request_ops.request_queue"
    return list_name(user, "requests"), "requests.my_requests"


@dataclass(frozen=True)
class NavLink:
    label: str
    endpoint: str
    current: bool


@dataclass(frozen=True)
class NavGroup:
    head: str
    links: tuple[NavLink, ...]
    menu: bool = False

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)


def main_nav(user, endpoint: str | None) -> list[NavGroup]:
    """The header's groups of links for `user` on the page `endpoint` (which link is aria-current)."""
    endpoint = endpoint or ""

    def link(label: str, target: str, *also: str, prefix: str | None = None) -> NavLink:
        current = endpoint in (target, *also) or bool(prefix and endpoint.startswith(prefix))
        return NavLink(label, target, current)

    groups = [
        NavGroup(
            "Bookings", (link(list_name(user, "bookings"), "bookings.my_bookings", prefix="bookings."),)
        ),
        NavGroup(
            "Finance",
            (
                link("Refunds", "finance.refunds", "finance.batch_details"),
                link("Statement", "finance.statement_page"),
            ),
        ),
        NavGroup(
            "Requests",
            (
                link(
                    list_name(user, "requests"),
                    "requests.my_requests",
                    "requests.new_request",
                    "requests.request_detail",
                ),
            ),
        ),
    ]
    if user.is_staff:
        groups.append(
            NavGroup(
                "Operations",
                (
                    link("Refund queue", "operations.refund_queue"),
                    link("Request queue", "request_ops.request_queue"),
                    link("Baggage orders", "baggage.baggage_queue_page"),
                    link("Schedule changes", "changes.schedule_changes"),
                ),
            )
        )
    if user.is_agency_admin:
        groups.append(NavGroup("Agency", (link("Agency users", "agency.users"),)))
    if user.is_admin:
        groups.append(
            NavGroup(
                "Admin",
                (
                    link("Users", "admin.users"),
                    link("Accounts", "admin.accounts"),
                    link("Import bookings", "admin.import_file"),
                    link("Audit trail", "admin.audit_trail"),
                    link("Request categories", "request_admin.request_categories"),
                    link("Refund reasons", "request_admin.refund_reasons"),
                ),
                menu=True,
            )
        )
    return groups


# Roles x pages x parts is a few hundred; more means mount points nobody deploys at.
_HEADER_PARTS_KEPT = 2_000


def header_part(user, endpoint: str | None, part: str) -> Markup:
    """One of the header's parts that depend only on the role and the page (the macros of
    _header_parts.html: the navigation, the bell's dropdown, Help, My account), rendered once per role,
    page, mount point and part, and reused. The header is on every page, and drawing its links (a url_for
    each) cost more than most pages' own queries; nothing in these parts belongs to one user."""
    parts = current_app.extensions.setdefault("portal_header_parts", {})
    key = (user.role, endpoint, request.script_root, part)
    html = parts.get(key)
    if html is None:
        if len(parts) >= _HEADER_PARTS_KEPT:
            parts.clear()  # a proxy may pass a client's SCRIPT_NAME: made-up mount points must not pile up
        draw = get_template_attribute("_header_parts.html", part)
        html = parts[key] = Markup(draw(main_nav(user, endpoint), endpoint))  # noqa: S704 (our template)
    return html
