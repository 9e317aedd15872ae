"""Clients: the list with filters, live search and keyset pages; intake and edit; the client page
with its timeline, notes, consents and plugin panels; the national number reveal; exports."""
from __future__ import annotations


from flask import Blueprint, Response, abort, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from core import clock
from core.models import INSTITUTION_ROLES
from core.plugins import call_contained
from core.web.forms import attach_errors
from core.services import clients as service
from core.services import coaching, identifiers, repayments, timeline  # noqa: F401  (repayments: its timeline source)
from core.services.contact_details import format_phone
from core.services.errors import NotFound, ValidationFailed
from core.access import roles_required
from core.web.forms_clients import (ClientForm, CloseForm, ConsentForm, EnrolForm, ErasureForm, NoteForm,
                                    PhaseForm, pairs)
from core.labels import REGION_LABELS, TranslatedLabels
from core.web.rendering import is_partial, render

bp = Blueprint("clients", __name__, url_prefix="/clients")
STAFF = INSTITUTION_ROLES


@bp.app_context_processor
def _labels():
    """Translated labels of the client and coaching codes, for every template."""
    from core.web import forms_clients as f

    labels = dict(sector_labels=f.SECTOR_LABELS, stage_labels=f.STAGE_LABELS,
                  status_labels=f.STATUS_LABELS, gender_labels=f.GENDER_LABELS,
                  education_labels=f.EDUCATION_LABELS, employment_labels=f.EMPLOYMENT_LABELS,
                  legal_form_labels=f.LEGAL_FORM_LABELS, consent_labels=f.CONSENT_LABELS,
                  method_labels=f.METHOD_LABELS, phase_labels=f.PHASE_LABELS,
                  channel_labels=f.CHANNEL_LABELS, region_labels=REGION_LABELS)
    return dict({name: TranslatedLabels(table) for name, table in labels.items()},
                sector_choices=[(c, f.SECTOR_LABELS[c]) for c in service.SECTORS],
                stage_choices=[(c, f.STAGE_LABELS[c]) for c in service.STAGES],
                status_choices=[(c, f.STATUS_LABELS[c]) for c in service.CLIENT_STATUSES],
                region_choices=f.REGION_CHOICES,
                sensitive=current_user.is_authenticated and service.may_see_sensitive(current_user))




def _client_or_404(client_id: int):
    try:
        return service.get_client(client_id)
    except NotFound:
        abort(404)


def _fill_choices(form: ClientForm) -> None:
    language = str(get_locale() or "en")
    form.country_of_birth.choices = pairs(service.countries(language), "—")
    form.coach_id.choices = pairs(((u.id, u.name) for u in service.coaches()), "—")


def _form_data(form: ClientForm) -> dict:
    data = {name: field.data for name, field in form._fields.items()
            if name not in ("csrf_token", "version", "confirm_duplicate")}
    return data


# --- list -------------------------------------------------------------------------------------

def _list_page(filters, *, after=None, status: int = 200, bulk_errors=None, selected=()):
    from core.web.lists import SortLinks

    rows, next_cursor = service.list_clients(filters, after=after)
    return render("clients/index.html", fragment="clients/_rows.html", rows=rows,
                  next_cursor=next_cursor, filters=filters, coaches=service.coaches(),
                  paging=bool(after) and is_partial(), field_filters=service.filterable_fields(),
                  sort_links=SortLinks(filters.sort, "clients.index"),
                  trainings=coaching.trainings(upcoming_only=True), bulk_errors=bulk_errors or [],
                  selected=set(selected), status=status)


@bp.route("/")
@roles_required(*STAFF)
def index():
    filters = service.ClientFilters.from_mapping(request.args, user=current_user)
    return _list_page(filters, after=request.args.get("after"))


def _list_args_of_referrer():
    """The client list's query arguments of the page the bulk form was posted from (its URL
    follows the live filters), so a refused action shows the same list again."""
    from urllib.parse import parse_qsl, urlsplit

    from werkzeug.datastructures import MultiDict

    parts = urlsplit(request.referrer or "")
    if parts.path != url_for("clients.index") or parts.netloc not in ("", request.host):
        return MultiDict(), ""
    from urllib.parse import urlencode

    pairs = [(k, v) for k, v in parse_qsl(parts.query) if k != "after"]
    return MultiDict(pairs), urlencode(pairs)


@bp.route("/bulk", methods=["POST"])
@roles_required(*STAFF)
def bulk():
    """A bulk action on the selected rows (``ids``): assign a coach, enrol in a training, export."""
    from flask import flash
    from flask_babel import ngettext

    from core.services import client_bulk

    action = request.form.get("action", "")
    ids = request.form.getlist("ids")
    args, query = _list_args_of_referrer()
    back = url_for("clients.index") + (f"?{query}" if query else "")
    try:
        if action == "assign_coach":
            result, coach = client_bulk.assign_coach(ids, request.form.get("coach_id"), user=current_user)
            message = ngettext("%(coach)s is now the coach of %(num)d client.",
                               "%(coach)s is now the coach of %(num)d clients.", result.changed,
                               coach=coach.name)
        elif action == "enrol":
            result, training = client_bulk.enrol(ids, request.form.get("training_id"), user=current_user)
            message = ngettext("%(num)d client enrolled in “%(training)s”.",
                               "%(num)d clients enrolled in “%(training)s”.", result.changed,
                               training=training.title)
        elif action == "export":
            content, mimetype, name, _count = client_bulk.export(ids, request.form.get("format", ""),
                                                                 user=current_user)
            return Response(content, mimetype=mimetype,
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        else:
            raise ValidationFailed({"action": _("Choose what to do with the selected clients.")})
    except ValidationFailed as failed:
        filters = service.ClientFilters.from_mapping(args, user=current_user)
        return _list_page(filters, status=422, bulk_errors=[str(m) for m in failed.errors.values()],
                          selected={int(i) for i in ids if i.isdigit()})
    if result.skipped:
        message += " " + ngettext("%(num)d was already so and left as it was.",
                                  "%(num)d were already so and left as they were.", result.skipped)
    flash(message, "success")
    return redirect(back, 303)


# --- intake and edit ----------------------------------------------------------------------------

def _referral_offer():
    """The referral offer a new client file is created from (``?referral_offer=``), if any."""
    from core.services import referrals
    from core.services.errors import NotFound

    raw = request.values.get("referral_offer", "")
    if not raw:
        return None
    try:
        return referrals.offer_awaiting_client_file(int(raw))
    except (ValueError, NotFound):
        abort(404)


def client_fields_of(client_id: int) -> dict:
    from core.services.plugin_fields import client_fields

    return client_fields.values_of(client_id)


def _extra_form(values=None):
    """The form of the fields the institution's plugin declares (prefixed ``field-``)."""
    from core.services.plugin_fields import client_fields
    from core.web.typed_forms import form_for

    formdata = request.form if request.method == "POST" else None
    return form_for(client_fields.declared(), values, formdata=formdata, prefix="field")


def _extra_values(extra) -> dict:
    from core.web.typed_forms import raw_values

    return {name.removeprefix("field-"): value for name, value in raw_values(extra).items()}


def _attach_all(form, extra, errors: dict) -> None:
    attach_errors(form, {k: v for k, v in errors.items() if not k.startswith("field-")})
    attach_errors(extra, {k: v for k, v in errors.items() if k.startswith("field-")})


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new():
    from core.services import referrals

    form = ClientForm()
    _fill_choices(form)
    offer = _referral_offer()
    extra = _extra_form()
    page = {"form": form, "extra": extra, "client": None, "duplicates": [], "referral_offer": offer}
    if request.method == "GET":
        form.preferred_language.data = str(get_locale() or "fr")
        if offer is not None:
            form.process(data=referrals.client_prefill(offer))
            _fill_choices(form)
        return render("clients/form.html", **page)
    parsed = form.validate_on_submit()
    data = _form_data(form)
    if not parsed:
        attach_errors(form, service.check_client(data, user=current_user))
        return render("clients/form.html", **page, status=422)
    try:
        client = service.create_client(data, user=current_user,
                                       confirm_duplicate=form.confirm_duplicate.data == "yes",
                                       extra_fields=_extra_values(extra))
    except ValidationFailed as failed:
        _attach_all(form, extra, failed.errors)
        return render("clients/form.html", **page, status=422)
    except service.DuplicateFound as found:
        form.confirm_duplicate.data = "yes"
        return render("clients/form.html", **{**page, "duplicates": found.matches}, status=409)
    if offer is not None:
        referrals.link_client(offer.id, client.id, user=current_user)
    return redirect(url_for("clients.show", client_id=client.id), 303)


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(client_id: int):
    client = _client_or_404(client_id)
    if request.method == "GET":
        form = ClientForm(obj=client)
        form.version.data = client.version
        _fill_choices(form)
        form.coach_id.data = str(client.coach_id or "")
        form.country_of_birth.data = client.country_of_birth or ""
        form.phone.data = format_phone(client.phone)  # stored as E.164, typed and read nationally
        extra = _extra_form(client_fields_of(client.id))
        return render("clients/form.html", form=form, extra=extra, client=client, duplicates=[])
    form = ClientForm()
    _fill_choices(form)
    extra = _extra_form()
    parsed = form.validate_on_submit()
    data = _form_data(form)
    if not parsed:
        attach_errors(form, service.check_client(data, user=current_user))
        return render("clients/form.html", form=form, extra=extra, client=client, duplicates=[], status=422)
    try:
        service.update_client(client.id, data, user=current_user, version=form.version.data,
                              extra_fields=_extra_values(extra))
    except ValidationFailed as failed:
        _attach_all(form, extra, failed.errors)
        return render("clients/form.html", form=form, extra=extra, client=client, duplicates=[], status=422)
    except service.EditConflict:
        current = _client_or_404(client_id)
        form.form_errors.append(_(
            "Someone else saved this client while you were editing. Your changes are below, not "
            "saved yet: check them against the current record, then save again."))
        form.version.data = current.version
        return render("clients/form.html", form=form, extra=extra, client=current, duplicates=[], status=409)
    return redirect(url_for("clients.show", client_id=client.id), 303)


# --- the client page ----------------------------------------------------------------------------

def _panels(client) -> list:
    slug = current_user.institution.slug if current_user.institution else None
    batches = call_contained("client_panels", slug, client=client, user=current_user)
    panels = [panel for batch in batches for panel in batch]
    return sorted(panels, key=lambda p: p.order)


def _timeline(client) -> list:
    slug = current_user.institution.slug if current_user.institution else None
    return timeline.entries_for(client, user=current_user, slug=slug)


def panel_html(panel) -> Markup:
    return panel.html if isinstance(panel.html, Markup) else escape(panel.html)


def _show_context(client) -> dict:
    track = coaching.track_of(client.id)
    enrol_form = EnrolForm()
    enrol_form.training_id.choices = pairs((t.id, f"{t.title} ({t.starts_on.isoformat()})")
                                           for t in coaching.trainings(upcoming_only=True))
    return dict(track=track, entries=_timeline(client), note_form=NoteForm(),
                consents=service.consents_of(client.id), consent_form=ConsentForm(),
                phase_form=PhaseForm(phase=track.phase if track else None), close_form=CloseForm(),
                enrol_form=enrol_form, panels=_panels(client), panel_html=panel_html,
                sensitive=service.may_see_sensitive(current_user),
                enrolments=coaching.trainings_of(client.id), coaching_errors=[],
                actions=coaching.actions_of(client.id), today=clock.today(),
                country_name=dict(service.countries(str(get_locale() or "en"))),
                format_iban=identifiers.format_iban,
                format_enterprise_number=identifiers.format_enterprise_number)


def render_show(client, status: int = 200, **overrides):
    """The client page, with some forms or data replaced (errors to show next to fields)."""
    context = _show_context(client)
    if "enrol_form" in overrides:
        overrides["enrol_form"].training_id.choices = context["enrol_form"].training_id.choices
    context.update(overrides)
    return render("clients/show.html", client=client, status=status, **context)


@bp.route("/<int:client_id>")
@roles_required(*STAFF)
def show(client_id: int):
    return render_show(_client_or_404(client_id))


@bp.route("/<int:client_id>/data-export")
@roles_required("admin")
def data_export(client_id: int):
    """Everything held on the client (GDPR access and portability), as JSON or PDF; audited."""
    import json

    from core.services import subject_export

    client = _client_or_404(client_id)
    kind = request.args.get("format", "json")
    if kind not in ("json", "pdf"):
        abort(404)
    data = subject_export.collect(client.id, user=current_user)
    name = f"client-{client.id}-data.{kind}"
    if kind == "pdf":
        body, mimetype = subject_export.to_pdf(data), "application/pdf"
    else:
        body, mimetype = json.dumps(data, ensure_ascii=False, indent=1), "application/json"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/<int:client_id>/erase", methods=["GET", "POST"])
@roles_required("admin")
def erase(client_id: int):
    """Erase or pseudonymise the client (GDPR art. 17), within the retention of loan records."""
    from flask import flash

    from wtforms.fields.choices import SelectChoice

    from core.services import erasure

    client = _client_or_404(client_id)
    form = ErasureForm()
    form.reason.choices = [SelectChoice("", "—"), *(SelectChoice(code, erasure.REASON_LABELS[code])
                                                    for code in erasure.REASONS)]
    retention = erasure.retention_of(client.id)
    page = dict(client=client, form=form, retention=retention, held=retention.holds(erasure.today()))
    if request.method == "GET":
        form.how.data = "pseudonymise" if page["held"] else "erase"
        return render("clients/erase.html", **page)
    if not form.validate_on_submit():
        return render("clients/erase.html", **page, status=422)
    try:
        erasure.apply(client.id, user=current_user, how=form.how.data or "", reason=form.reason.data or "",
                      confirmed=bool(form.confirm.data))
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return render("clients/erase.html", **page, status=422)
    flash(_("The client's data was erased.") if form.how.data == "erase"
          else _("The client's data was pseudonymised; the loan records are kept."), "success")
    return redirect(url_for("clients.show", client_id=client.id), 303)


@bp.route("/<int:client_id>/timeline")
@roles_required(*STAFF)
def client_timeline(client_id: int):
    client = _client_or_404(client_id)
    return render("clients/_timeline.html", client=client, entries=_timeline(client),
                  note_form=NoteForm())


@bp.route("/<int:client_id>/notes", methods=["POST"])
@roles_required(*STAFF)
def add_note(client_id: int):
    """Add a note inline: htmx gets the timeline fragment (422 with the error), others the page."""
    client = _client_or_404(client_id)
    form = NoteForm()
    status = 201
    try:
        service.add_note(client.id, form.body.data, user=current_user)
        form = NoteForm(formdata=None)
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        status = 422
    if is_partial():
        return render("clients/_timeline.html", client=client, entries=_timeline(client),
                      note_form=form, status=status)
    if status == 201:
        return redirect(url_for("clients.show", client_id=client.id) + "#timeline", 303)
    return render_show(client, status=status, note_form=form)


@bp.route("/<int:client_id>/national-number", methods=["POST"])
@roles_required(*STAFF)
def reveal(client_id: int):
    """Show the national number in clear (admin, officer); the reveal is in the audit trail."""
    client = _client_or_404(client_id)
    if not service.may_see_sensitive(current_user):
        abort(403)
    number = service.reveal_national_number(client.id, user=current_user)
    return render("clients/_national_number.html", client=client, revealed=number)


@bp.route("/<int:client_id>/consents", methods=["POST"])
@roles_required(*STAFF)
def add_consent(client_id: int):
    client = _client_or_404(client_id)
    form = ConsentForm()
    form.validate()
    status = 201
    try:
        service.record_consent(client.id, kind=form.kind.data, given_on=form.given_on.data,
                               method=form.method.data, user=current_user)
        form = ConsentForm(formdata=None)
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        status = 422
    return render("clients/_consents.html", client=client, consents=service.consents_of(client.id),
                  consent_form=form, status=status)


@bp.route("/<int:client_id>/consents/<int:consent_id>/withdraw", methods=["POST"])
@roles_required(*STAFF)
def withdraw_consent(client_id: int, consent_id: int):
    client = _client_or_404(client_id)
    try:
        service.withdraw_consent(consent_id, client_id=client.id)
    except NotFound:
        abort(404)
    return render("clients/_consents.html", client=client, consents=service.consents_of(client.id),
                  consent_form=ConsentForm(formdata=None))


# --- exports ------------------------------------------------------------------------------------

@bp.route("/exports", methods=["POST"])
@roles_required(*STAFF)
def start_export():
    filters = service.ClientFilters.from_mapping(request.form, user=current_user)
    try:
        job = service.start_export(filters, request.form.get("format", ""), user=current_user)
    except ValidationFailed:
        abort(400, description=_("Choose CSV or XLSX."))
    return render("clients/export.html", fragment="clients/_export.html", job=job, status=202)


@bp.route("/exports/<int:export_id>")
@roles_required(*STAFF)
def export_progress(export_id: int):
    """The progress of an export; each poll builds the next chunk (any worker can)."""
    try:
        job = service.step_export(export_id, user=current_user)
    except NotFound:
        abort(404)
    return render("clients/export.html", fragment="clients/_export.html", job=job)


@bp.route("/exports/<int:export_id>/download")
@roles_required(*STAFF)
def export_download(export_id: int):
    try:
        content, mimetype, name = service.export_file(export_id, user=current_user)
    except NotFound:
        abort(404)
    except ValidationFailed:
        return redirect(url_for("clients.export_progress", export_id=export_id))
    return Response(content, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
