"""`Idempotency-Key` on the API's POSTs: the header is validated and documented on every operation that
carries `@idempotent` (directly under `@bp.route`), the call is fingerprinted (method, path, query and
body; a JSON body by its parsed value, so spacing and key order do not matter; a multipart body by its
fields and each file's SHA-256), and services/idempotency decides: run it, give the first answer again
(`Idempotent-Replayed: true`), or refuse."""

from __future__ import annotations

import hashlib
import json
from functools import wraps

import marshmallow as ma
from flask import current_app, request
from marshmallow import fields, validate

from portal.blueprints.api.base import actor, bp
from portal.clock import utcnow
from portal.errors import problem_for
from portal.services.idempotency import HEADER, MAX_KEY, Answer, complete, reserve
from portal.uow import attempt

REPLAYED = "Idempotent-Replayed"


class IdempotencyHeaders(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # every other header

    key = fields.String(
        data_key=HEADER,
        validate=[
            validate.Length(max=MAX_KEY),
            validate.Regexp(
                r"^[\x21-\x7e]+$", error="1 to 255 printable ASCII characters without spaces, e.g. a UUID."
            ),
        ],
        metadata={
            "description": "Any unique string of yours (a UUID is good), at most 255 characters. The same "
            "key with the same call answers what the first call answered, for at least 24 hours, also "
            "when the two race (the replay carries `Idempotent-Replayed: true`); with another call it is "
            "a 422. Only successful answers are kept: a refused call may be sent again."
        },
    )


def _file_digest(storage) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: storage.stream.read(65536), b""):
        digest.update(chunk)
    storage.stream.seek(0)
    return digest.hexdigest()


def _body_value():
    if request.mimetype == "multipart/form-data" or request.mimetype == "application/x-www-form-urlencoded":
        form = sorted(request.form.items(multi=True))
        files = sorted(
            (name, storage.filename or "", _file_digest(storage))
            for name, storage in request.files.items(multi=True)
        )
        return ["form", form, files]
    raw = request.get_data(cache=True)
    try:
        return ["json", json.loads(raw)]
    except (ValueError, RecursionError):
        return ["raw", hashlib.sha256(raw).hexdigest()]


def fingerprint() -> str:
    """What makes two calls the same call."""
    call = [request.method, request.path, request.query_string.decode("latin-1"), _body_value()]
    canonical = json.dumps(call, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(answer: Answer):
    response = current_app.response_class(answer.body, status=answer.status, content_type=answer.content_type)
    response.headers[REPLAYED] = "true"
    return response


def idempotent(view):
    """Honour `Idempotency-Key` on this operation (place it directly under `@bp.route`)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        *args, headers = args
        key = headers.get("key")
        if key is None:
            return view(*args, **kwargs)
        with attempt() as outcome:
            reserved = reserve(actor(), key, fingerprint(), utcnow())
        if outcome.failed:
            return problem_for(outcome.error)
        if isinstance(reserved, Answer):
            return _replay(reserved)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code < 400:
            complete(
                reserved,
                status=response.status_code,
                content_type=response.content_type or "application/json",
                body=response.get_data(as_text=True),
            )
        return response

    return bp.arguments(IdempotencyHeaders, location="headers")(wrapper)
