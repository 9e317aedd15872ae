"""What the list pages share: sortable column headers (``?sort=``) and saved filters.

A list page passes its ``Sort`` to ``sort_links`` and its list key to the ``saved_filters``
macro; the routes here save, use (a redirect to the list with the saved query) and delete.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.access import roles_required, view_access
from core.models import INSTITUTION_ROLES
from core.services import saved_filters as service
from core.services.errors import NotFound, ValidationFailed
from core.services.sorting import Sort
from core.web.rendering import is_partial

bp = Blueprint("lists", __name__, url_prefix="/saved-filters")

#: the page of each list key
LIST_ENDPOINTS = {"clients": "clients.index", "loans": "loans.queue", "late": "loans.late",
                  "referrals": "referrals.inbox", "audit": "admin.audit_trail"}
PAGING = ("after", "before", "page")


def current_args() -> list[tuple[str, str]]:
    """The request's query arguments without the paging cursors and the order (the filters)."""
    return [(k, v) for k, v in list_args() if k != "sort"]


class SortLinks:
    """The header links of a sorted list: each keeps the filters and starts on the first page."""

    def __init__(self, sort: Sort, endpoint: str, **fixed):
        self.sort, self.endpoint, self.fixed = sort, endpoint, fixed

    def url(self, key: str) -> str:
        args: dict = {}
        for k, v in current_args():
            args.setdefault(k, []).append(v)
        args.update(self.fixed)
        return url_for(self.endpoint, **args, sort=self.sort.toggled(key))

    def aria(self, key: str) -> str | None:
        if key != self.sort.key:
            return None
        return "descending" if self.sort.descending else "ascending"


@bp.app_template_global()
def saved_filters_of(list_key: str):
    """The signed-in user's saved filters of a list (a template global: macros see it)."""
    if not current_user.is_authenticated or current_user.institution_id is None:
        return []
    return service.saved(list_key, user=current_user)


@bp.app_template_global()
def list_args() -> list[tuple[str, str]]:
    """The page's query arguments without paging, with ``sort`` (what a saved filter keeps)."""
    return [(k, v) for k, v in request.args.items(multi=True) if k not in PAGING]


def _may_see(list_key: str) -> bool:
    endpoint = LIST_ENDPOINTS.get(list_key)
    if endpoint is None:
        return False
    _public, roles = view_access(endpoint)
    return bool(roles) and current_user.role in roles


def _list_url(list_key: str, query: str = "") -> str:
    return url_for(LIST_ENDPOINTS[list_key]) + (f"?{query}" if query else "")


def _go(url: str):
    """A redirect; an htmx request (the save form posting the live filter form) loads the page."""
    if is_partial():
        return Response(status=204, headers={"HX-Redirect": url})
    return redirect(url, 303)


@bp.route("/", methods=["POST"])
@roles_required(*INSTITUTION_ROLES)
def save():
    list_key = request.form.get("list", "")
    if not _may_see(list_key):
        abort(404)
    pairs = [(k, v) for k, v in request.form.items(multi=True)]
    try:
        saved = service.save(list_key, request.form.get("name", ""), pairs, user=current_user)
    except ValidationFailed as failed:
        flash(" ".join(str(m) for m in failed.errors.values()), "error")
        return _go(_list_url(list_key, service.query_of(pairs)))
    flash(_("Filter “%(name)s” saved.", name=saved.name), "success")
    return _go(_list_url(list_key, saved.query))


def _own(saved_filter_id: int):
    try:
        found = service.get(saved_filter_id, user=current_user)
    except NotFound:
        abort(404)
    if not _may_see(found.list_key):
        abort(404)
    return found


@bp.route("/<int:saved_filter_id>")
@roles_required(*INSTITUTION_ROLES)
def use(saved_filter_id: int):
    found = _own(saved_filter_id)
    return redirect(_list_url(found.list_key, found.query), 303)


@bp.route("/<int:saved_filter_id>/delete", methods=["POST"])
@roles_required(*INSTITUTION_ROLES)
def delete(saved_filter_id: int):
    found = _own(saved_filter_id)
    service.delete(found.id, user=current_user)
    flash(_("Filter “%(name)s” deleted.", name=found.name), "success")
    back = request.referrer or ""
    parts = urlsplit(back)
    list_path = url_for(LIST_ENDPOINTS[found.list_key])
    if parts.path == list_path and parts.netloc in ("", request.host):
        return redirect(list_path + (f"?{parts.query}" if parts.query else ""), 303)
    return redirect(list_path, 303)
