"""Clients: intake with validated Belgian identifiers, duplicates, edits with optimistic locking,
the filtered list with keyset pages, reveal of the national number, consents, notes, exports."""
from __future__ import annotations

import csv
import functools
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from babel import Locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, or_, select, union
from sqlalchemy.orm import lazyload, load_only
from sqlalchemy.orm.exc import StaleDataError

from core import clock
from core import tenancy
from core.config import LANGUAGES
from core.extensions import db
from core.geo import FIRST_COUNTRIES, country_codes, province_for_postal_code, region_for_postal_code
from core.models import ROLE_ADMIN, ROLE_COACH, ROLE_OFFICER, User
from core.models.people import (
    CLIENT_STATUSES, CONSENT_KINDS, CONSENT_METHODS, EDUCATION_LEVELS, EMPLOYMENT_STATUSES, GENDERS,
    LEGAL_FORMS, LOW_EDUCATION, SECTORS, STAGES, Client, ClientExport, ClientExportChunk, ClientNote,
    Consent,
)
from core.models.types import utcnow
from core.plugin_api import Event
from core.plugins import emit
from core.services import audit, contact_details, export_words, identifiers, notifications, plugin_fields, timeline
from core.services.errors import NotFound, ValidationFailed
from core.services.sorting import Sort, parse_sort
from core.services.spreadsheet_cells import csv_row, xlsx_row

#: Roles that see sensitive attributes (disability, country of birth) and may reveal the
#: national number: they assess loans and report impact. Coaches work without them.
SENSITIVE_ROLES = frozenset({ROLE_ADMIN, ROLE_OFFICER})
MINIMUM_AGE = 16
PAGE_SIZE = 50
EXPORT_CHUNK = 2000
PERSON_FIELDS = ("first_name", "last_name", "birth_date", "gender", "email", "phone", "street",
                 "postal_code", "city", "preferred_language", "education_level",
                 "employment_status", "household_size")
SENSITIVE_FIELDS = ("country_of_birth", "disability")
ENTERPRISE_FIELDS = ("enterprise_name", "enterprise_number", "legal_form", "sector",
                     "enterprise_start_date", "stage", "iban", "coach_id")


class DuplicateFound(Exception):
    """Clients of the institution that look like the one being created."""

    def __init__(self, matches: list[Client]):
        super().__init__(f"{len(matches)} possible duplicate(s)")
        self.matches = matches


class EditConflict(Exception):
    """Someone saved the client since this form was opened."""


def may_see_sensitive(user) -> bool:
    return user.role in SENSITIVE_ROLES


def search_key(text: str | None) -> str:
    """Lowercase, accents removed, spaces collapsed: the form names are searched and sorted in."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


@functools.lru_cache(maxsize=16)
def countries(language: str) -> tuple[tuple[str, str], ...]:
    """(ISO code, name in ``language``) of every country: Belgium and its neighbours first
    (``FIRST_COUNTRIES``), then the others sorted by name in that language; no pseudo-locale or
    grouping (``NOT_COUNTRIES``). Worked out once per language: sorting some 250 names is most of a
    client page's time otherwise."""
    names = Locale.parse(language).territories
    codes = country_codes()
    first = tuple((code, names[code]) for code in FIRST_COUNTRIES)
    rest = sorted(((code, names[code]) for code in codes if code not in FIRST_COUNTRIES),
                  key=lambda pair: search_key(pair[1]))
    return first + tuple(rest)


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def age_group(birth_date: date, day: date) -> str:
    age = age_on(birth_date, day)
    return "under_30" if age < 30 else ("30_to_49" if age < 50 else "50_plus")


# --- validation -------------------------------------------------------------------------------

def _text(data: dict, name: str, limit: int) -> str | None:
    value = (data.get(name) or "").strip() if isinstance(data.get(name) or "", str) else data.get(name)
    return value[:limit] if value else None


def _choice(errors: dict, data: dict, name: str, choices, required: bool, message) -> str | None:
    value = data.get(name) or None
    if value is None:
        if required:
            errors[name] = message
        return None
    if value not in choices:
        errors[name] = message
    return value


def _clean(data: dict, user, errors: dict) -> dict:
    """Check every field; return the values to store (identifiers compacted, region derived)."""
    values: dict = {}
    for name, limit in (("first_name", 100), ("last_name", 100), ("email", 1000), ("phone", 1000),
                        ("street", 200), ("city", 100), ("enterprise_name", 200)):
        values[name] = _text(data, name, limit)
    if not values["first_name"]:
        errors["first_name"] = _l("Enter the first name.")
    if not values["last_name"]:
        errors["last_name"] = _l("Enter the last name.")
    _clean_contact(values, errors)
    birth = data.get("birth_date")
    today = clock.today()
    if not isinstance(birth, date):
        errors.setdefault("birth_date", _l("Enter the birth date."))
    elif birth > today:
        errors["birth_date"] = _l("The birth date cannot be in the future.")
    elif age_on(birth, today) < MINIMUM_AGE:
        errors["birth_date"] = _l("The client must be at least %(age)d years old.", age=MINIMUM_AGE)
    values["birth_date"] = birth
    values["gender"] = _choice(errors, data, "gender", GENDERS, True, _l("Choose a gender."))
    postal = (data.get("postal_code") or "").strip()
    if region_for_postal_code(postal) is None:
        errors["postal_code"] = _l("Enter a Belgian postal code (4 digits, 1000 to 9999).")
    else:
        values.update(postal_code=postal, region=str(region_for_postal_code(postal)),
                      province=province_for_postal_code(postal))
    values["preferred_language"] = _choice(errors, data, "preferred_language", LANGUAGES, True,
                                           _l("Choose nl, fr or en."))
    values["education_level"] = _choice(errors, data, "education_level", EDUCATION_LEVELS, False,
                                        _l("Choose an education level from the list."))
    values["employment_status"] = _choice(errors, data, "employment_status", EMPLOYMENT_STATUSES,
                                          False, _l("Choose a status from the list."))
    size = data.get("household_size")
    if size is not None and not (isinstance(size, int) and 1 <= size <= 30):
        errors["household_size"] = _l("Enter a household size between 1 and 30.")
    values["household_size"] = size
    if may_see_sensitive(user):
        country = (data.get("country_of_birth") or "").strip().upper() or None
        if country and country not in dict(countries("en")):
            errors["country_of_birth"] = _l("Choose a country from the list.")
        values["country_of_birth"] = country
        values["disability"] = bool(data.get("disability"))
    values["sector"] = _choice(errors, data, "sector", SECTORS, True, _l("Choose a sector."))
    values["stage"] = _choice(errors, data, "stage", STAGES, True, _l("Choose a stage."))
    values["legal_form"] = _choice(errors, data, "legal_form", LEGAL_FORMS, False,
                                   _l("Choose a legal form from the list."))
    start = data.get("enterprise_start_date")
    if start is not None and start > today and values.get("stage") != "project":
        errors["enterprise_start_date"] = _l("A started enterprise cannot start in the future.")
    values["enterprise_start_date"] = start
    _clean_identifiers(data, values, errors)
    _clean_coach(data, values, errors)
    return values


def _clean_contact(values: dict, errors: dict) -> None:
    """The e-mail address (syntax only) and the phone number (Belgium by default, kept in E.164)."""
    if values["email"]:
        try:
            values["email"] = contact_details.clean_email(values["email"])
        except ValueError:
            errors["email"] = _l("This is not a valid e-mail address (e.g. jean@example.be).")
    if values["phone"]:
        try:
            values["phone"] = contact_details.clean_phone(values["phone"])
        except ValueError:
            errors["phone"] = _l("This is not a valid phone number (e.g. 0470 12 34 56 or +32 470 12 34 56).")


def _clean_identifiers(data: dict, values: dict, errors: dict) -> None:
    for name, cleaner, message in (
            ("enterprise_number", identifiers.clean_enterprise_number,
             _l("This is not a valid enterprise number (10 digits, e.g. 0403.170.701).")),
            ("iban", identifiers.clean_iban,
             _l("This is not a valid IBAN (e.g. BE71 0961 2345 6769)."))):
        raw = (data.get(name) or "").strip()
        values[name] = None
        if raw:
            try:
                values[name] = cleaner(raw)
            except ValueError:
                errors[name] = message
    raw = (data.get("national_number") or "").strip()
    if raw:
        try:
            values["national_number"] = identifiers.clean_national_number(raw)
        except ValueError:
            errors["national_number"] = _l("This is not a valid national register number "
                                           "(11 digits, e.g. 85.07.30-033.28).")
        else:
            encoded = identifiers.birth_date_in(values["national_number"])
            birth = data.get("birth_date")
            if encoded and isinstance(birth, date) and encoded != birth:
                errors["national_number"] = _l("This national number belongs to someone born on "
                                               "another date than the birth date given.")


def _clean_coach(data: dict, values: dict, errors: dict) -> None:
    coach_id = data.get("coach_id") or None
    values["coach_id"] = None
    if coach_id is None:
        return
    try:
        coach = tenancy.get(User, int(coach_id))
    except (TypeError, ValueError):
        coach = None
    if coach is None or not coach.active or coach.role not in (ROLE_COACH, ROLE_OFFICER, ROLE_ADMIN):
        errors["coach_id"] = _l("Choose a coach of your institution.")
    else:
        values["coach_id"] = coach.id


def _apply(client: Client, values: dict) -> None:
    number = values.pop("national_number", None)
    for name, value in values.items():
        setattr(client, name, value)
    if number:
        client.national_number_hash = identifiers.national_number_hash(number)
        client.national_number_secret = identifiers.encrypt(number)
        client.national_number_last = number[-2:]
    client.sort_key = search_key(f"{client.last_name} {client.first_name}")[:220]
    client.first_name_key = search_key(client.first_name)[:100]
    client.enterprise_key = search_key(client.enterprise_name)[:200] or None


def _freeze_intake(client: Client) -> None:
    """The target-group attributes as recorded at intake; later edits never change them."""
    client.intake_gender = client.gender
    client.intake_born_abroad = None if not client.country_of_birth else client.country_of_birth != "BE"
    client.intake_age_group = age_group(client.birth_date, clock.today())
    client.intake_low_educated = (None if not client.education_level
                                  else client.education_level in LOW_EDUCATION)
    client.intake_job_seeker = (None if not client.employment_status
                                else client.employment_status == "job_seeker")
    client.intake_disability = bool(client.disability)


# --- create, edit, duplicates -------------------------------------------------------------------

def _extra_errors(extra_fields: dict | None) -> dict:
    """Errors of the fields the institution's plugin declares, keyed ``field-<key>`` like the form."""
    if extra_fields is None:
        return {}
    try:
        plugin_fields.client_fields.parse(extra_fields)
    except ValidationFailed as failed:
        return {f"field-{key}": message for key, message in failed.errors.items()}
    return {}



def find_duplicates(*, national_number: str | None, first_name: str, last_name: str,
                    birth_date: date | None, exclude_id: int | None = None) -> list[Client]:
    """Clients of the institution with this national number, or this name and birth date."""
    conditions = []
    if national_number:
        conditions.append(Client.national_number_hash == identifiers.national_number_hash(national_number))
    if birth_date and first_name and last_name:
        conditions.append(and_(Client.sort_key == search_key(f"{last_name} {first_name}")[:220],
                               Client.birth_date == birth_date))
    if not conditions:
        return []
    query = select(Client).where(or_(*conditions)).order_by(Client.id).limit(10)
    if exclude_id:
        query = query.where(Client.id != exclude_id)
    return list(db.session.scalars(query))


def check_client(data: dict, *, user) -> dict:
    """The field errors ``create_client`` would raise for ``data`` (nothing is written)."""
    errors: dict = {}
    _clean(data, user, errors)
    return errors


def create_client(data: dict, *, user, confirm_duplicate: bool = False,
                  extra_fields: dict | None = None) -> Client:
    """Create a client from form data; raises ``ValidationFailed`` or ``DuplicateFound``.

    A possible duplicate (same national number, or same name and birth date) is refused
    unless ``confirm_duplicate`` says the user saw it and wants another record anyway.
    """
    errors: dict = {}
    values = _clean(data, user, errors)
    errors.update(_extra_errors(extra_fields))
    if errors:
        raise ValidationFailed(errors)
    if not confirm_duplicate:
        matches = find_duplicates(national_number=values.get("national_number"),
                                  first_name=values["first_name"], last_name=values["last_name"],
                                  birth_date=values["birth_date"])
        if matches:
            raise DuplicateFound(matches)
    client = Client(status="active", disability=False)
    _apply(client, values)
    _freeze_intake(client)
    db.session.add(client)
    if extra_fields is not None:
        db.session.flush()
        plugin_fields.client_fields.save(client.id, extra_fields, commit=False)
    db.session.commit()
    emit(Event("client.created", client.institution_id, {"client_id": client.id}))
    return client


#: an erased client is a shell kept for the reports and the trail: nothing is written on it again
ERASED_MESSAGE = _l("This client's data was erased: nothing more can be recorded on them.")


def update_client(client_id: int, data: dict, *, user, version: int,
                  extra_fields: dict | None = None) -> Client:
    """Save an edit made on the form opened at ``version``; ``EditConflict`` if someone saved since.

    The intake snapshot is not touched; fields the user's role may not see are kept.
    """
    client = get_client(client_id)
    if client.erased_at is not None:
        raise ValidationFailed({"": ERASED_MESSAGE})
    if int(version or 0) != client.version:
        raise EditConflict()
    errors: dict = {}
    values = _clean(data, user, errors)
    status = data.get("status") or client.status
    if status not in CLIENT_STATUSES:
        errors["status"] = _l("Choose a status from the list.")
    errors.update(_extra_errors(extra_fields))
    if errors:
        raise ValidationFailed(errors)
    values["status"] = status
    if values.get("national_number"):
        others = find_duplicates(national_number=values["national_number"], first_name="",
                                 last_name="", birth_date=None, exclude_id=client.id)
        if others:
            raise ValidationFailed({"national_number": _l("Another client has this national number.")})
    _apply(client, values)
    if extra_fields is not None:
        plugin_fields.client_fields.save(client.id, extra_fields, commit=False)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise EditConflict() from None
    emit(Event("client.updated", client.institution_id, {"client_id": client.id}))
    return client


def get_client(client_id) -> Client:
    client = tenancy.get(Client, client_id)
    if client is None:
        raise NotFound()
    return client


def reveal_national_number(client_id: int, *, user) -> str:
    """The client's national number in clear, for a role that needs it; the reveal is logged."""
    client = get_client(client_id)
    if not may_see_sensitive(user):
        raise NotFound()
    if not client.national_number_secret:
        return ""
    number = identifiers.decrypt(client.national_number_secret)
    audit.record("reveal", client, {"field": "national_number"})
    db.session.commit()
    return identifiers.format_national_number(number)


def coaches() -> list[User]:
    """Active staff of the institution who can coach, by name (their id and name loaded: the
    choices of a form or a filter; another attribute is loaded when read)."""
    return list(db.session.scalars(
        select(User).where(User.active.is_(True), User.role.in_((ROLE_COACH, ROLE_OFFICER, ROLE_ADMIN)))
        .options(load_only(User.id, User.name), lazyload(User.institution))
        .order_by(User.name)))


# --- the list ---------------------------------------------------------------------------------

@dataclass
class ClientFilters:
    """What the list is narrowed to. Empty strings mean no filter."""

    stage: str = ""
    sector: str = ""
    region: str = ""
    coach_id: int | None = None
    status: str = ""
    q: str = ""
    extra: dict = field(default_factory=dict)
    #: whether ``q`` may match a whole national number: only for roles that see national numbers,
    #: so that nobody else can test whether a person is a client by their number
    national_numbers: bool = False
    #: the order of the list (``?sort=``); an unknown key falls back to the name order
    sort: Sort = field(default_factory=lambda: Sort(DEFAULT_CLIENT_SORT))

    @classmethod
    def from_mapping(cls, args, *, user) -> "ClientFilters":
        def pick(name, allowed):
            value = args.get(name) or ""
            return value if value in allowed else ""

        coach = args.get("coach") or ""
        return cls(stage=pick("stage", STAGES), sector=pick("sector", SECTORS),
                   region=pick("region", ("brussels", "wallonia", "flanders")),
                   coach_id=int(coach) if coach.isdigit() else None,
                   status=pick("status", CLIENT_STATUSES), q=(args.get("q") or "").strip()[:100],
                   extra=_extra_filters(args), national_numbers=may_see_sensitive(user),
                   sort=parse_sort(args.get("sort"), CLIENT_SORTS, DEFAULT_CLIENT_SORT))

    def as_args(self) -> dict:
        args = {"stage": self.stage, "sector": self.sector, "region": self.region,
                "coach": self.coach_id or "", "status": self.status, "q": self.q,
                **{f"field-{key}": value for key, value in self.extra.items()},
                "sort": self.sort.param if self.sort.param != DEFAULT_CLIENT_SORT else ""}
        return {k: v for k, v in args.items() if v}


def filterable_fields() -> list:
    """The plugin-declared client fields the list can be filtered on (yes/no and choices)."""
    return [f for f in plugin_fields.client_fields.declared() if f.type in ("bool", "choice")]


def _extra_filters(args) -> dict:
    """``field-<key>=<value>`` query arguments for declared fields; unknown or bad ones ignored."""
    chosen = {}
    for declared in filterable_fields():
        raw = args.get(f"field-{declared.key}") or ""
        if declared.type == "bool" and raw in ("yes", "no"):
            chosen[declared.key] = raw
        elif declared.type == "choice" and raw in declared.choices:
            chosen[declared.key] = raw
    return chosen


def _prefix(column, key: str):
    """``column`` starts with ``key``: a range the index can use, plus ``LIKE`` so the answer
    stays exact under any database collation (keys hold only lowercase letters, digits, spaces)."""
    upper = key[:-1] + chr(ord(key[-1]) + 1)
    return and_(column >= key, column < upper, column.startswith(key, autoescape=True))


def _search_conditions(q: str, national_numbers: bool) -> list:
    """One condition per indexed column a search can match: the beginning of the last name,
    first name or enterprise name; an enterprise number; a whole IBAN; a whole national number
    (when ``national_numbers``)."""
    digits = "".join(c for c in q if c.isdigit())
    key = search_key(q)
    conditions = []
    if (iban := _iban_in(q)) is not None:
        conditions.append(Client.iban == iban)
    if digits and len(digits) >= 4 and not any(c.isalpha() for c in q):
        conditions.append(_prefix(Client.enterprise_number, digits))
        if len(digits) == 11 and national_numbers:
            conditions.append(Client.national_number_hash == identifiers.national_number_hash(digits))
        if len(digits) == 9:  # an enterprise number typed without its leading 0
            conditions.append(Client.enterprise_number == "0" + digits)
    if key:
        conditions += [_prefix(column, key)
                       for column in (Client.sort_key, Client.first_name_key, Client.enterprise_key)]
    return conditions


def _iban_in(q: str) -> str | None:
    """``q`` as a compact IBAN when it is a valid one (typed with or without spaces), else None."""
    compact = q.replace(" ", "").upper()
    if len(compact) < 15 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return None
    try:
        return identifiers.clean_iban(compact)
    except ValueError:
        return None


def _narrowed(query, filters: ClientFilters):
    for column, value in ((Client.stage, filters.stage), (Client.sector, filters.sector),
                          (Client.region, filters.region), (Client.status, filters.status),
                          (Client.coach_id, filters.coach_id)):
        if value:
            query = query.where(column == value)
    for key, value in filters.extra.items():
        wanted = {"yes": True, "no": False}.get(value, value)
        if wanted is False:  # "no" also covers clients never asked
            query = query.where(Client.id.not_in(plugin_fields.client_fields.ids_where(key, True)))
        else:
            query = query.where(Client.id.in_(plugin_fields.client_fields.ids_where(key, wanted)))
    return query


def _filtered(query, filters: ClientFilters):
    """``query`` restricted to the filters and the search (a union of index range scans)."""
    query = _narrowed(query, filters)
    if filters.q:
        branches = [select(Client.id).where(c) for c in _search_conditions(filters.q, filters.national_numbers)]
        if branches:
            query = query.where(Client.id.in_(union(*branches) if len(branches) > 1 else branches[0]))
    return query


#: the list's sortable columns (``?sort=key`` or ``?sort=-key``); each has an index
#: (institution, column, id) so that a page stays a short index range at 100,000 clients
CLIENT_SORTS = {"name": "sort_key", "created_at": "created_at", "stage": "stage", "sector": "sector",
                "status": "status"}
DEFAULT_CLIENT_SORT = "name"


def _sort_column(sort: Sort):
    return getattr(Client, CLIENT_SORTS[sort.key])


def _ordered(query, column, sort: Sort, ident_column=None):
    ident_column = Client.id if ident_column is None else ident_column
    if sort.descending:
        return query.order_by(column.desc(), ident_column.desc())
    return query.order_by(column, ident_column)


def _after(column, sort: Sort, position, ident_column=None):
    """The keyset condition: rows after ``position`` (id, value) in the order of ``sort``."""
    ident_column = Client.id if ident_column is None else ident_column
    ident, value = position
    if sort.descending:
        return or_(column < value, and_(column == value, ident_column < ident))
    return or_(column > value, and_(column == value, ident_column > ident))


@dataclass(frozen=True, slots=True)
class ListedCoach:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class ListedClient:
    """A client as a page of the list (and the header search) shows it: the columns read there
    (and sorted on) and the coach's name, selected as plain rows (loading forty-column ORM objects
    cost more than the rest of the query)."""

    id: int
    status: str
    first_name: str
    last_name: str
    postal_code: str | None
    region: str | None
    enterprise_name: str | None
    sector: str | None
    stage: str | None
    sort_key: str
    created_at: datetime
    coach: ListedCoach | None


_LISTED = (Client.id, Client.status, Client.first_name, Client.last_name, Client.postal_code, Client.region,
           Client.enterprise_name, Client.sector, Client.stage, Client.sort_key, Client.created_at)


def _listed(query) -> list[ListedClient]:
    """``query`` (a select of ``_LISTED`` columns joined to the coach) as ``ListedClient`` rows."""
    return [ListedClient(*row[:-2], coach=ListedCoach(row[-2], row[-1]) if row[-2] is not None else None)
            for row in db.session.execute(query)]


def _list_select():
    return (select(*_LISTED, User.id, User.name)
            .outerjoin(User, User.id == Client.coach_id))


def _searched_page(filters: ClientFilters, position, limit: int) -> list[ListedClient]:
    """A search page: each indexed column gives its matches (id, sort value), the union is cut to
    one page in the list's order, and only that page's clients are loaded."""
    column = _sort_column(filters.sort)
    branches = [_narrowed(select(Client.id, column.label("k")), filters).where(c)
                for c in _search_conditions(filters.q, filters.national_numbers)]
    if not branches:
        return []
    matches = (union(*branches) if len(branches) > 1 else branches[0]).subquery()
    page = _ordered(select(matches.c.id), matches.c.k, filters.sort, matches.c.id).limit(limit)
    if position:
        page = page.where(_after(matches.c.k, filters.sort, position, matches.c.id))
    ids = list(db.session.scalars(page))
    if not ids:
        return []
    rows = _listed(_list_select().where(Client.id.in_(ids)))
    order = {ident: n for n, ident in enumerate(ids)}
    return sorted(rows, key=lambda c: order[c.id])


def encode_cursor(client, sort: Sort | None = None) -> str:
    """``id:value`` of the last row of a page, ``value`` being the sorted column's."""
    value = getattr(client, CLIENT_SORTS[sort.key if sort else DEFAULT_CLIENT_SORT])
    return f"{client.id}:{value.isoformat() if isinstance(value, datetime) else value}"


def _decode_cursor(cursor: str | None, sort: Sort | None = None) -> tuple[int, object] | None:
    if not cursor or ":" not in cursor:
        return None
    ident, _sep, value = cursor.partition(":")
    if not ident.isdigit():
        return None
    if sort is not None and sort.key == "created_at":
        try:
            return int(ident), datetime.fromisoformat(value)
        except ValueError:
            return None
    return int(ident), value


def list_clients(filters: ClientFilters, after: str | None = None,
                 limit: int | None = None) -> tuple[list[ListedClient], str | None]:
    """A page of clients in the order of ``filters.sort`` (by name unless asked otherwise, ties
    broken by id) and the cursor of the next page (None on the last)."""
    limit = limit or PAGE_SIZE
    position = _decode_cursor(after, filters.sort)
    if filters.q and _search_conditions(filters.q, filters.national_numbers):
        rows = _searched_page(filters, position, limit + 1)
    else:
        column = _sort_column(filters.sort)
        query = _ordered(_narrowed(_list_select(), filters), column, filters.sort).limit(limit + 1)
        if position:
            query = query.where(_after(column, filters.sort, position))
        rows = _listed(query)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1], filters.sort) if more and rows else None)


# --- consents and notes -----------------------------------------------------------------------

def consents_of(client_id: int) -> list[Consent]:
    return list(db.session.scalars(select(Consent).where(Consent.client_id == client_id)
                                   .order_by(Consent.given_on.desc(), Consent.id.desc())))


def record_consent(client_id: int, *, kind: str, given_on, method: str, user) -> Consent:
    """Record a consent the client gave, on a date, in a way (paper, e-mail …)."""
    client = get_client(client_id)
    errors = {}
    if kind not in CONSENT_KINDS:
        errors["kind"] = _l("Choose a consent from the list.")
    if method not in CONSENT_METHODS:
        errors["method"] = _l("Choose how the consent was given.")
    if not isinstance(given_on, date):
        errors["given_on"] = _l("Enter the date the consent was given.")
    elif given_on > clock.today():
        errors["given_on"] = _l("The date cannot be in the future.")
    if errors:
        raise ValidationFailed(errors)
    consent = Consent(client_id=client.id, kind=kind, given_on=given_on, method=method,
                      recorded_by_id=user.id)
    db.session.add(consent)
    db.session.commit()
    emit(Event("consent.given", client.institution_id, {"client_id": client.id, "kind": kind}))
    return consent


def withdraw_consent(consent_id: int, *, client_id: int) -> Consent:
    """Withdraw a consent today (it stays on record, marked withdrawn)."""
    consent = tenancy.get(Consent, consent_id)
    if consent is None or consent.client_id != client_id:
        raise NotFound()
    if consent.withdrawn_on is None:
        consent.withdrawn_on = clock.today()
        db.session.commit()
        emit(Event("consent.withdrawn", consent.institution_id,
                   {"client_id": consent.client_id, "kind": consent.kind}))
    return consent


def add_note(client_id: int, body: str, *, user) -> ClientNote:
    """Add a note to the client's timeline."""
    client = get_client(client_id)
    if client.erased_at is not None:
        raise ValidationFailed({"body": ERASED_MESSAGE})
    body = (body or "").strip()
    if not body:
        raise ValidationFailed({"body": _l("Write the note first.")})
    if len(body) > 5000:
        raise ValidationFailed({"body": _l("Keep a note under 5,000 characters.")})
    note = ClientNote(client_id=client.id, author_id=user.id, body=body)
    db.session.add(note)
    db.session.commit()
    return note


@timeline.source("notes")
def _note_entries(client) -> list[timeline.TimelineEntry]:
    notes = db.session.scalars(select(ClientNote).where(ClientNote.client_id == client.id)
                               .order_by(ClientNote.id.desc()).limit(100))
    return [timeline.TimelineEntry(at=n.created_at, kind="note", title=_("Note"), body=n.body,
                                   author=n.author.name if n.author else "") for n in notes]


# --- exports ----------------------------------------------------------------------------------

EXPORT_COLUMNS = ("id", "last_name", "first_name", "birth_date", "gender", "email", "phone",
                  "postal_code", "city", "region", "preferred_language", "enterprise_name",
                  "enterprise_number", "sector", "stage", "status", "coach")


def start_export(filters: ClientFilters, fmt: str, *, user) -> ClientExport:
    """Begin an export of the filtered list (``csv`` or ``xlsx``); ``step_export`` builds it."""
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed({"format": _l("Choose CSV or XLSX.")})
    _forget_old_exports(user)
    total = db.session.scalar(_filtered(select(func.count()).select_from(Client), filters))
    job = ClientExport(user_id=user.id, format=fmt, filters={**filters.as_args()}, total=total or 0,
                       done=0, status="running" if total else "done")
    db.session.add(job)
    db.session.commit()
    return job


EXPORT_KEPT_HOURS = 24


def _forget_old_exports(user) -> None:
    """Exports are kept a day for their download, then removed when the user starts another."""
    from datetime import timedelta

    old = list(db.session.scalars(select(ClientExport.id).where(
        ClientExport.user_id == user.id,
        ClientExport.created_at < utcnow() - timedelta(hours=EXPORT_KEPT_HOURS))))
    if old:
        db.session.execute(delete(ClientExportChunk).where(ClientExportChunk.export_id.in_(old)))
        db.session.execute(delete(ClientExport).where(ClientExport.id.in_(old)))


def get_export(export_id: int, *, user) -> ClientExport:
    job = tenancy.get(ClientExport, export_id)
    if job is None or job.user_id != user.id:
        raise NotFound()
    return job


def _csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _export_row(client: Client) -> list:
    return [client.id, client.last_name, client.first_name, client.birth_date.isoformat(),
            client.gender, client.email or "",
            contact_details.format_phone(client.phone, international=True), client.postal_code,
            client.city or "", client.region, client.preferred_language,
            client.enterprise_name or "", client.enterprise_number or "", client.sector,
            client.stage, client.status, client.coach.name if client.coach else ""]


def step_export(export_id: int, *, user) -> ClientExport:
    """Write the next chunk of a running export. Safe to call from several workers at once:
    the export's version column lets only one of them record a given chunk."""
    job = get_export(export_id, user=user)
    if job.status != "running":
        return job
    filters = ClientFilters.from_mapping(job.filters, user=user)
    query = _filtered(select(Client), filters).order_by(Client.sort_key, Client.id).limit(EXPORT_CHUNK)
    if job.cursor_id is not None:
        query = query.where(or_(Client.sort_key > job.cursor_key,
                                and_(Client.sort_key == job.cursor_key, Client.id > job.cursor_id)))
    clients = list(db.session.scalars(query))
    seq = job.done // EXPORT_CHUNK if EXPORT_CHUNK else 0
    if clients:
        db.session.add(ClientExportChunk(export_id=job.id, seq=seq,
                                         rows=_csv_text([_export_row(c) for c in clients])))
        job.done += len(clients)
        job.cursor_key, job.cursor_id = clients[-1].sort_key, clients[-1].id
    if len(clients) < EXPORT_CHUNK:
        job.status = "done"
        job.total = job.done
        notifications.export_finished(job)
    try:
        db.session.commit()
    except StaleDataError:  # another worker recorded this chunk first
        db.session.rollback()
        return get_export(export_id, user=user)
    return job


def export_file(export_id: int, *, user) -> tuple[bytes, str, str]:
    """(content, mimetype, file name) of a finished export."""
    job = get_export(export_id, user=user)
    if job.status != "done":
        raise ValidationFailed({"": _l("This export is not finished yet.")})
    chunks = db.session.scalars(select(ClientExportChunk.rows)
                                .where(ClientExportChunk.export_id == job.id)
                                .order_by(ClientExportChunk.seq))
    name = f"clients-{job.created_at:%Y%m%d-%H%M}.{job.format}"
    rows = (row for chunk in chunks for row in csv.reader(io.StringIO(chunk)))
    return (*write_export(job.format, rows), name)


def write_export(fmt: str, stored_rows) -> tuple[bytes, str]:
    """(content, mimetype) of client rows as stored (``_export_row`` as text: codes), written for
    people in the current language (translated titles, each code as its label), every cell
    neutralised against formulas. The list export and the selection export both write through it."""
    columns = list(EXPORT_COLUMNS)
    header = export_words.header(columns, export_words.CLIENT_CODES)
    rows = (export_words.row(columns, row, export_words.CLIENT_CODES) for row in stored_rows)
    if fmt == "csv":
        body = _csv_text([header]) + "".join(_csv_text([csv_row(row)]) for row in rows)
        return body.encode("utf-8-sig"), "text/csv"
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Clients"))
    sheet.append(header)
    for row in rows:
        sheet.append([int(row[0]), *xlsx_row(sheet, row[1:])])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

