"""The HTML side of the app: sessions, language, access checks, error pages, page chrome."""
from __future__ import annotations

from flask import Flask, flash, g, has_request_context, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from core.config import LANGUAGES
from core.extensions import babel, db, login_manager
from core.tenancy import all_institutions, set_request_tenant
from core.access import enforce_declared_access

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie is Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))


def select_locale() -> str:
    """The language of this response: the one chosen in the session, the user's, the browser's.

    A page with languages of its own (the public ``/refer`` pages, also in German) sets
    ``g.page_locale`` first. Outside a request (CLI, worker) messages are in English.
    """
    if not has_request_context():
        return "en"
    if g.get("page_locale"):
        return g.page_locale
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.preferred_language in LANGUAGES:
        return current_user.preferred_language
    return request.accept_languages.best_match(LANGUAGES) or "en"


def _load_user(user_id: str):
    """Flask-Login's user loader: the user and, in the same query, the server-side session
    record of the cookie's session id, kept on ``g`` for ``_session_ended``."""
    from core.services import user_sessions

    if not user_id.isdigit():
        return None
    token = session.get(SESSION_KEY)
    with all_institutions("the signed-in user is loaded before the tenant is known"):
        user, record = user_sessions.load_user_with_session(int(user_id), token)
    g.microfin_session_record = (token, record)
    return user


#: the key of the Flask session holding the random id of the session's server-side record
SESSION_KEY = "sid"


def _session_ended() -> bool:
    """True when this signed-in request has no live server-side session record: signed out
    elsewhere (a copied cookie), revoked, idle or past its absolute lifetime
    (core.services.user_sessions). A user loaded any other way (Flask-Login's remember-me
    cookie, a session without a record) is signed out the same way."""
    from core.services import user_sessions

    token = session.get(SESSION_KEY)
    loaded = g.pop("microfin_session_record", None)
    if loaded is not None and loaded[0] == token:
        record = user_sessions.current(token, current_user.id, record=loaded[1])
    else:
        record = user_sessions.current(token, current_user.id)
    g.user_session = record
    return record is None


def _before_request():
    if request.endpoint == "static":
        return None
    if current_user.is_authenticated:
        if _session_ended() or not _institution_available():
            chosen_language = session.get("lang")
            logout_user()
            session.clear()
            if chosen_language:
                session["lang"] = chosen_language
            flash(_("Your session has expired. Please sign in again."), "warning")
            return redirect(url_for("auth.login", next=request.full_path))
    from core.web import second_factor

    if (halfway := second_factor.guard()) is not None:
        return halfway
    set_request_tenant(current_user.institution_id if current_user.is_authenticated else None,
                       current_user.id if current_user.is_authenticated else None)
    return enforce_declared_access()


def _institution_available() -> bool:
    """False when the user's institution was disabled (its plugin removed) since sign-in, or a
    portal user's referrer organisation was deactivated."""
    from core.plugins import state

    if current_user.is_referrer:
        from core.services.accounts import referrer_active

        return referrer_active(current_user)
    if current_user.institution_id is None:
        return True
    institution = current_user.institution
    return bool(institution and institution.enabled and institution.slug in state().institutions)


def _config(key: str):
    from flask import current_app

    return current_app.config[key]


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your role does not give access to this page.")),
    404: (_l("Page not found"), _l("There is nothing here, or it is not yours to see.")),
    405: (_l("Not allowed"), _l("This page cannot be used this way.")),
    413: (_l("Too large"), _l("What you sent is larger than this server accepts.")),
    429: (_l("Too many requests"), _l("Slow down a little and try again in a minute.")),
    500: (_l("Something went wrong"), _l("The error was logged. Try again, or tell your administrator.")),
}


def _error_page(code: int, message=None):
    title, default = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    return render_template("errors/error.html", code=code, title=title,
                           message=message or default), code


def _handle_http_error(error: HTTPException):
    if request.path.startswith("/api/"):
        from core.api import api_error

        return api_error(error)
    custom = error.description if error.description != type(error).description else None
    return _error_page(error.code or 500, custom)


def _handle_csrf_error(_error: CSRFError):
    return _error_page(400, _("This form has expired or did not come from this site. "
                              "Reload the page and send it again."))


def _handle_unexpected(error: Exception):
    from flask import current_app

    if request.path.startswith("/api/"):
        from core.api import api_error

        return api_error(error)

    current_app.logger.exception("unhandled error", exc_info=error)
    db.session.rollback()
    try:
        return _error_page(500)
    except Exception:  # the page chrome itself failed (database down): answer plainly
        current_app.logger.exception("the error page failed too")
        return "500 Internal Server Error", 500, {"Content-Type": "text/plain; charset=utf-8"}


def _template_context():
    from core.builtin.navigation import menu_for, menu_groups
    from core.plugins import state

    institution = None
    if current_user.is_authenticated and current_user.institution is not None:
        institution = state().institution(current_user.institution.slug)
    menu = menu_for(current_user, institution) if current_user.is_authenticated else []
    return {
        "languages": LANGUAGES,
        "current_language": select_locale(),
        "institution_profile": institution,
        "menu": menu,
        "menu_groups": menu_groups(menu),
    }


def init_app(app: Flask) -> None:
    """Wire sessions, sign-in, language and page handling into ``app``."""
    app.session_interface = SessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories="translations")
    from core.extensions import install_template_gettext

    install_template_gettext(app)
    app.before_request(_before_request)
    app.after_request(_security_headers)
    app.context_processor(_template_context)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(Exception, _handle_unexpected)
    from sqlalchemy.exc import OperationalError

    from core.web import operability

    app.register_error_handler(OperationalError, operability.database_unavailable)
    app.after_request(operability.response_headers)
    app.before_request_funcs.setdefault(None, []).insert(0, operability.refuse_large_streamed_body)
    from core.web import filters

    filters.init_app(app)
