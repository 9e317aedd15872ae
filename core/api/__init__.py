"""The JSON API (v1) for referrers: bearer tokens, problem+json errors, idempotent POSTs."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from core.api import schemas
from core.request_limits import streamed_body_too_large
from core.api.problems import field_errors, problem
from core.extensions import csrf, db, limiter
from core.models.types import utcnow
from core.services import referrals, referrers
from core.services.errors import NotFound, ValidationFailed
from core.access import public

MAX_BODY = 64 * 1024
#: The deepest nesting of objects and arrays a body may have (a referral needs 3).
MAX_DEPTH = 16
bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _rate_limit() -> str:
    return current_app.config.get("MICROFIN_API_RATE_LIMIT", "120/minute")


def _bearer() -> tuple[referrers.Referrer | None, referrers.TokenExpired | None]:
    """The referrer of this request's bearer token, or the expiry it failed on; looked up once per
    request (the rate limit's key needs it before ``_authenticate`` runs)."""
    found = request.environ.get("microfin.api_bearer")  # on the request: ``g`` may outlive it (tests)
    if found is None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            found = (referrers.authenticate(token.strip()) if scheme.lower() == "bearer" else None, None)
        except referrers.TokenExpired as expired:
            found = (None, expired)
        request.environ["microfin.api_bearer"] = found
    return found


def _limit_key() -> str:
    """Per referrer organisation (all its tokens, every endpoint together); a request without a
    valid token counts for its address."""
    referrer = _bearer()[0] if request.endpoint != "api.openapi" else None
    return f"referrer:{referrer.id}" if referrer is not None else f"address:{request.remote_addr}"


limiter.shared_limit(_rate_limit, scope="api", key_func=_limit_key)(bp)


def _buffer_streamed_body():
    """A chunked body over the API's limit: 413, never a body cut at the limit and parsed."""
    if streamed_body_too_large(MAX_BODY):
        return problem(413, "too-large", f"The body may be at most {MAX_BODY} bytes.")
    return None


@bp.before_request
def _authenticate():
    request.max_content_length = MAX_BODY
    if request.method in ("POST", "PUT", "PATCH"):
        too_large = _buffer_streamed_body()
        if too_large is not None:
            return too_large
    if request.endpoint == "api.openapi":
        return None
    referrer, expired = _bearer()
    if expired is not None:
        return problem(401, "token-expired",
                       f"This token expired at {expired.expires_at.isoformat()}: ask the operator for a new one.",
                       headers={"WWW-Authenticate": 'Bearer realm="microfin", error="invalid_token", '
                                                    'error_description="The token expired"'})
    if referrer is None:
        return problem(401, "unauthorized", "Send Authorization: Bearer <token> with a valid token.",
                       headers={"WWW-Authenticate": 'Bearer realm="microfin"'})
    g.referrer = referrer
    return None


def api_error(error: Exception):
    """Every error under /api/ as problem+json; never a stack trace, never HTML."""
    if isinstance(error, HTTPException):
        status = error.code or 500
        headers = {"Retry-After": error.response.headers.get("Retry-After")} \
            if status == 429 and error.response is not None and error.response.headers.get("Retry-After") else None
        return problem(status, {404: "not-found", 405: "method-not-allowed", 413: "too-large",
                                429: "rate-limited"}.get(status, "http-error"),
                       error.description if status != 404 else "No such resource.", headers=headers)
    current_app.logger.exception("API error", exc_info=error)
    db.session.rollback()
    return problem(500, "internal", "The error was logged.")


def _json_body():
    if request.mimetype != "application/json":
        return None, problem(415, "unsupported-media-type", "Send Content-Type: application/json.")
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
        if _nesting_depth(text) > MAX_DEPTH:
            return None, problem(400, "too-deep", f"Objects and arrays may be nested at most {MAX_DEPTH} deep.")
        parsed = json.loads(text)
    except UnicodeDecodeError:
        return None, problem(400, "invalid-encoding", "The body is not valid UTF-8.")
    except json.JSONDecodeError as exc:
        return None, problem(400, "invalid-json", f"The body is not valid JSON: {exc.msg} (line {exc.lineno}).")
    return (text, parsed), None


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def _nesting_depth(text: str) -> int:
    """How deep objects and arrays nest in a JSON text (brackets inside strings ignored)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _canonical_hash(parsed) -> str:
    return hashlib.sha256(json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@bp.post("/referrals")
@public
def create_referral():
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200:
        return problem(400, "idempotency-key", "Send an Idempotency-Key header (1 to 200 characters).",
                       errors=[{"field": "Idempotency-Key", "message": "required header"}])
    body, failure = _json_body()
    if failure is not None:
        return failure
    text, parsed = body
    try:
        data = schemas.ReferralIn.model_validate_json(text)
    except ValidationError as exc:
        return problem(422, "validation", "The body has invalid fields.", errors=field_errors(exc))
    try:
        status, answer = referrals.receive_once(g.referrer, data, key=key, request_hash=_canonical_hash(parsed))
    except referrals.IdempotencyConflict:
        return problem(422, "idempotency-conflict", "This Idempotency-Key was used with a different body.",
                       errors=[{"field": "Idempotency-Key", "message": "already used with another body"}])
    except ValidationFailed as failed:
        return problem(422, "validation", "The body has invalid fields.",
                       errors=[{"field": k, "message": str(v)} for k, v in failed.errors.items()])
    return jsonify(answer), status


@bp.get("/referrals/<int(max=2147483647):referral_id>")
@public
def get_referral(referral_id: int):
    try:
        return jsonify(referrals.view_for_referrer(g.referrer, referral_id))
    except NotFound:
        return problem(404, "not-found", "No such referral among yours.")


def _parse_since(raw: str | None) -> datetime | None:
    if not raw:
        return None
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("needs a time zone")
    return value


@bp.get("/referrals")
@public
def list_referrals():
    errors = []
    try:
        since = _parse_since(request.args.get("updated_since"))
    except ValueError:
        since = None
        errors.append({"field": "updated_since", "message": "use an ISO 8601 date-time with a time zone"})
    limit = request.args.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        errors.append({"field": "limit", "message": "a whole number from 1 to 200"})
    if errors:
        return problem(422, "validation", "Bad query parameters.", errors=errors)
    try:
        rows, cursor = referrals.list_for_referrer(g.referrer, since, request.args.get("cursor"), int(limit))
    except ValidationFailed as failed:
        return problem(422, "validation", "Bad query parameters.",
                       errors=[{"field": k, "message": str(v)} for k, v in failed.errors.items()])
    return jsonify({"items": referrals.public_views(rows), "next_cursor": cursor})


@bp.post("/referrals/<int(max=2147483647):referral_id>/withdraw")
@public
def withdraw_referral(referral_id: int):
    try:
        return jsonify(referrals.public_view(referrals.withdraw(g.referrer, referral_id)))
    except NotFound:
        return problem(404, "not-found", "No such referral among yours.")


@bp.get("/openapi.json")
@public
def openapi():
    from importlib.metadata import version

    from core.api.openapi import document

    return jsonify(document(version("microfin-crm")))


__all__ = ["bp", "api_error", "utcnow"]
