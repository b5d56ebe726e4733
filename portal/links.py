"""Links for notifications and e-mails, built with or without a request (jobs run outside one)."""

from flask import current_app, has_request_context, url_for


def path_for(endpoint: str, **values) -> str:
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost", script_name="/").build(endpoint, values)
