"""Who may open which page. Every view declares its roles; the default is to refuse.

``roles_required`` marks a view; a ``before_request`` check (in ``core.web``) refuses any
endpoint that is neither marked nor listed as public, so a forgotten decorator fails closed.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, current_app, request
from flask_login import current_user

PUBLIC_ATTR = "_microfin_public"
ROLES_ATTR = "_microfin_roles"


def public(view):
    """Mark a view as open without signing in (sign-in page, static files, language switch)."""
    setattr(view, PUBLIC_ATTR, True)
    return view


def roles_required(*roles: str):
    """Mark a view as open to signed-in users with one of ``roles``; others get a 403 page."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapper, ROLES_ATTR, frozenset(roles))
        return wrapper

    return decorate


def view_access(endpoint: str | None) -> tuple[bool, frozenset[str] | None]:
    """(is public, roles) declared by the view behind ``endpoint``."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    if view is None:
        return True, None  # 404 and 405 are answered by Flask itself
    return getattr(view, PUBLIC_ATTR, False), getattr(view, ROLES_ATTR, None)


def enforce_declared_access():
    """``before_request``: refuse endpoints that declare neither ``public`` nor roles."""
    if request.endpoint == "static":
        return None
    is_public, roles = view_access(request.endpoint)
    if is_public:
        return None
    if roles is None:
        abort(403)
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None
