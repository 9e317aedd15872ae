"""What a load balancer and an operator need when a part is down (issue 14, points 8 and 9):
``/healthz`` (the process answers), ``/readyz`` (the database answers), a translated 503 page with
``Retry-After`` when the database does not answer (rendered without touching it), and the
response headers every page gets (HSTS over HTTPS, ``Cache-Control: no-store``)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, session
from flask_babel import force_locale
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from core.access import public
from core.config import LANGUAGES
from core.extensions import db

bp = Blueprint("operability", __name__)

RETRY_AFTER_SECONDS = 30
HSTS = "max-age=31536000; includeSubDomains"


@bp.route("/healthz")
@public
def healthz():
    """The process is up; nothing else is checked (no database access)."""
    return jsonify(status="ok")


@bp.route("/readyz")
@public
def readyz():
    """Ready for traffic: the database answers ``SELECT 1`` and, where the rate limits are kept in
    Redis (``MICROFIN_RATELIMIT_STORAGE=redis://…``), Redis answers; else 503 naming the part."""
    checks, failing = {}, []
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        checks["database"] = "ok"
    except DBAPIError:
        db.session.rollback()
        current_app.logger.warning("readyz: the database does not answer", exc_info=True)
        failing.append("database")
    if _shared_limits():
        if _limits_storage_answers():
            checks["redis"] = "ok"
        else:
            current_app.logger.warning("readyz: the rate-limit storage does not answer")
            failing.append("redis")
    if failing:
        response = jsonify(status="unavailable", failing=failing)
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return jsonify(status="ok", checks=checks)


def _shared_limits() -> bool:
    from core.request_limits import counted_in_process

    return not counted_in_process(str(current_app.config.get("RATELIMIT_STORAGE_URI", "memory://")))


def _limits_storage_answers() -> bool:
    from core.extensions import limiter

    try:
        return bool(limiter.storage.check())
    except Exception:  # noqa: BLE001 - any failure of the storage client means "not ready"
        return False


def _language() -> str:
    """The language without asking the database: the session's choice, else the browser's."""
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else (request.accept_languages.best_match(LANGUAGES) or "en")


def database_unavailable(error: OperationalError):
    """The database does not answer (down, or locked past the busy timeout): 503 with Retry-After,
    a problem+json body on the API, else a translated page that needs neither the database nor the
    signed-in user (the page chrome would ask for both)."""
    current_app.logger.error("the database does not answer", exc_info=error)
    try:
        db.session.rollback()
    except DBAPIError:
        pass
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/"):
        from core.api.problems import problem

        return problem(503, "unavailable", "The database does not answer. Try again shortly.", headers=headers)
    with force_locale(_language()):
        page = current_app.jinja_env.get_template("errors/unavailable.html").render(
            language=_language(), retry_after=RETRY_AFTER_SECONDS)
    return page, 503, {**headers, "Content-Type": "text/html; charset=utf-8"}


def refuse_large_streamed_body():
    """``before_request``: a chunked body over ``MAX_CONTENT_LENGTH`` is refused with 413 before
    any form parser sees a cut version of it (the API applies its own, smaller limit after)."""
    from werkzeug.exceptions import RequestEntityTooLarge

    from core.request_limits import streamed_body_too_large

    if request.method in ("POST", "PUT", "PATCH") and streamed_body_too_large(current_app.config.get("MAX_CONTENT_LENGTH")):
        raise RequestEntityTooLarge()


def response_headers(response):
    """HSTS when the request came over HTTPS; no caching of any page or export (they carry
    personal data, and a shared or back-button cache must not keep them)."""
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response
