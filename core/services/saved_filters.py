"""Saved filters: a user's named query strings of a list page (clients, loans, late loans,
referrals, the audit trail), saved from the list, used as links, deleted by their owner.

Each row belongs to its user and institution: tenancy scopes every query to the institution, and
every lookup by id also checks the user, so another user's filter is "not found" like another
institution's. The query string is re-encoded from its parsed pairs (paging and form fields
dropped), so what is stored is only ever ``key=value&…`` for the list to validate when used.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core import tenancy
from core.extensions import db
from core.models.saved_filters import SavedFilter
from core.services.errors import NotFound, ValidationFailed

LISTS = ("clients", "loans", "late", "referrals", "audit")
#: form fields and paging cursors, never part of a saved filter
NOT_SAVED = frozenset({"csrf_token", "name", "list", "after", "before", "page"})
MAX_PER_LIST = 30
MAX_QUERY = 1000
MAX_NAME = 80


def query_of(pairs) -> str:
    """The query string of ``(key, value)`` pairs: empty values, paging and form fields left out."""
    kept = [(str(k), str(v)) for k, v in pairs if k not in NOT_SAVED and str(v).strip()]
    return urlencode(kept)


def saved(list_key: str, *, user) -> list[SavedFilter]:
    """The user's saved filters of one list, by name."""
    return list(db.session.scalars(select(SavedFilter).where(
        SavedFilter.user_id == user.id, SavedFilter.list_key == list_key)
        .order_by(SavedFilter.name, SavedFilter.id)))


def save(list_key: str, name: str, pairs, *, user) -> SavedFilter:
    """Save the list's current query under ``name``; the same name again replaces its query."""
    name = " ".join((name or "").split())
    query = query_of(pairs)
    errors = {}
    if list_key not in LISTS:
        raise NotFound()
    if not name:
        errors["name"] = _l("Give the filter a name.")
    elif len(name) > MAX_NAME:
        errors["name"] = _l("Keep the name under %(num)d characters.", num=MAX_NAME)
    if len(query) > MAX_QUERY:
        errors["name"] = _l("This filter is too long to save.")
    existing = None if errors else db.session.scalar(select(SavedFilter).where(
        SavedFilter.user_id == user.id, SavedFilter.list_key == list_key, SavedFilter.name == name))
    if existing is None and not errors:
        count = db.session.scalar(select(func.count()).select_from(SavedFilter).where(
            SavedFilter.user_id == user.id, SavedFilter.list_key == list_key))
        if count >= MAX_PER_LIST:
            errors["name"] = _l("You have %(num)d saved filters on this list: delete one first.",
                                num=MAX_PER_LIST)
    if errors:
        raise ValidationFailed(errors)
    if existing is None:
        existing = SavedFilter(user_id=user.id, list_key=list_key, name=name, query=query)
        db.session.add(existing)
    else:
        existing.query = query
    db.session.commit()
    return existing


def get(saved_filter_id: int, *, user) -> SavedFilter:
    """The user's own saved filter; another user's or institution's is ``NotFound``."""
    found = tenancy.get(SavedFilter, saved_filter_id)
    if found is None or found.user_id != user.id:
        raise NotFound()
    return found


def delete(saved_filter_id: int, *, user) -> SavedFilter:
    found = get(saved_filter_id, user=user)
    db.session.delete(found)
    db.session.commit()
    return found
