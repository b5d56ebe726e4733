"""One filter at the edge for what people and programs send: control characters are refused before any
view, service or database sees them.

PostgreSQL cannot store a NUL in text, a file named "x.pdf\\0.html" can never be offered back as a
download, and no form, URL or file name of the portal has a use for the other C0 controls. Tabs and line
breaks are allowed in values (messages and notes have paragraphs), never in file names or paths.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from portal.domain.text import has_control_characters


class ControlCharacters(BadRequest):
    """The request carried a control character (such as a NUL byte) where none belongs."""

    description = (
        "Something you sent contains an invisible control character (such as a NUL byte), which the portal "
        "does not accept. Nothing was saved: remove it (retype the text or rename the file) and try again."
    )


def refuse_control_characters() -> None:
    """Before every request: the path, the query string, form fields and uploaded file names."""
    if has_control_characters(request.path, in_name=True):
        raise ControlCharacters()
    sources = [request.args]
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        sources.append(request.form)
        for upload in request.files.values():
            if upload.filename and has_control_characters(upload.filename, in_name=True):
                raise ControlCharacters()
    for source in sources:
        for key, value in source.items(multi=True):
            if has_control_characters(key, in_name=True) or has_control_characters(value):
                raise ControlCharacters()


class RowIdConverter(IntegerConverter):
    """`<int:…>` in every URL: a row id, so at most the largest `Integer` key (32 bits on PostgreSQL). A
    bigger number matches no route (404) instead of reaching the database, which refuses to bind or
    compare it (a 500 before)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def register_converters(app: Flask) -> None:
    """Before any route is added: the URL converters every blueprint's rules are built with."""
    app.url_map.converters["int"] = RowIdConverter


def init_app(app: Flask) -> None:
    # First of the before_request hooks, so not even the user loader sees the input.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_control_characters)
