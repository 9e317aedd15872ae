"""Coaching: sessions with actions, phases, closing (by hand and on loan.repaid), the agenda,
hours, trainings with capacity and attendance, through real HTTP."""
from __future__ import annotations

import re

import pytest
from datetime import date, timedelta

from sqlalchemy import func, select

from core import clock
from core.extensions import db
from core.models import AgreedAction, CoachingSession, CoachingTrack, Enrolment
from core.plugin_api import Event
from core.plugins import emit
from core.services import coaching
from core.tenancy import acting_for
from tests.clients_data import make_client, make_session, make_training
from tests.conftest import login, post


def count(staff, model) -> int:
    with acting_for(staff.institution_id):
        return db.session.scalar(select(func.count()).select_from(model))


def session_form(staff, **overrides) -> dict:
    data = {"coach_id": str(staff.coach.id), "held_on": clock.today().isoformat(),
            "duration_minutes": "90", "channel": "in_person", "topics": "Financial plan",
            "notes": "Went through the costs.", "actions-0-description": "Open a business account",
            "actions-0-due_on": (clock.today() + timedelta(days=7)).isoformat()}
    data.update(overrides)
    return data


def test_coach_adds_a_session_with_actions_and_it_shows_on_the_timeline(as_user, staff_a):
    created = make_client(staff_a)
    client = as_user(staff_a.coach)
    url = f"/coaching/clients/{created.id}/sessions/new"
    assert re.search(rf'<option selected value="{staff_a.coach.id}">', client.get(url).get_data(as_text=True))
    response = post(client, url, session_form(staff_a), token_from=url)
    assert response.status_code == 303
    page = client.get(f"/clients/{created.id}").get_data(as_text=True)
    assert "Coaching session, 90 min, in person" in page and "Financial plan" in page
    assert "Before the loan" in page
    with acting_for(staff_a.institution_id):
        action = db.session.scalar(select(AgreedAction))
        assert action.description == "Open a business account" and action.done is False


def test_session_bad_input_is_refused_next_to_fields(as_user, staff_a, staff_b):
    created = make_client(staff_a)
    client = as_user(staff_a.coach)
    url = f"/coaching/clients/{created.id}/sessions/new"
    response = post(client, url, session_form(staff_a, coach_id=str(staff_b.coach.id), duration_minutes="0",
                                              topics="", **{"actions-0-due_on": ""}), token_from=url)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="coach_id-error" class="field-error">Choose a coach of your institution.' in body
    assert 'id="duration_minutes-error" class="field-error">Enter a duration between 1 and 480 minutes.' in body
    assert 'id="topics-error" class="field-error">Write the topics discussed.' in body
    assert 'id="actions-0-due_on-error" class="field-error">Give the action a due date.' in body
    assert 'value="Open a business account"' in body and "Went through the costs." in body
    assert count(staff_a, CoachingSession) == 0 and count(staff_a, CoachingTrack) == 0


def test_phase_change_and_manual_close_with_final_note(as_user, staff_a):
    created = make_client(staff_a)
    make_session(staff_a, created)
    client = as_user(staff_a.officer)
    page = f"/clients/{created.id}"
    assert post(client, f"/coaching/clients/{created.id}/phase", {"phase": "start_up"}, token_from=page).status_code == 303
    assert "<strong>Start-up</strong>" in client.get(page).get_data(as_text=True)
    refused = post(client, f"/coaching/clients/{created.id}/close", {"final_note": " "}, token_from=page)
    assert refused.status_code == 422
    assert "Write a final note to close the coaching." in refused.get_data(as_text=True)
    closed = post(client, f"/coaching/clients/{created.id}/close", {"final_note": "Bank loan obtained."},
                  token_from=page)
    assert closed.status_code == 303
    body = client.get(page).get_data(as_text=True)
    assert "Coaching closed" in body and "Bank loan obtained." in body
    late = post(client, f"/coaching/clients/{created.id}/sessions/new", session_form(staff_a),
                token_from=page)
    assert late.status_code == 422 and "The coaching of this client is closed." in late.get_data(as_text=True)


def test_loan_repaid_event_closes_the_coaching(app, staff_a, staff_b):
    mine, theirs = make_client(staff_a), make_client(staff_b)
    make_session(staff_a, mine)
    make_session(staff_b, theirs)
    emit(Event("loan.repaid", staff_a.institution_id, {"client_id": mine.id, "loan_id": 1}))
    db.session.expire_all()
    with acting_for(staff_a.institution_id):
        track = coaching.track_of(mine.id)
        assert (track.status, track.close_reason) == ("closed", "loan_repaid")
    with acting_for(staff_b.institution_id):
        assert coaching.track_of(theirs.id).status == "open"
    # another institution's id in the event never closes that institution's track
    emit(Event("loan.repaid", staff_a.institution_id, {"client_id": theirs.id}))
    db.session.expire_all()
    with acting_for(staff_b.institution_id):
        assert coaching.track_of(theirs.id).status == "open"


def test_agenda_lists_upcoming_sessions_and_overdue_actions(as_user, staff_a):
    created = make_client(staff_a, first_name="Agenda", last_name="Client")
    make_session(staff_a, created, held_on=clock.today() + timedelta(days=3), topics="Visit the shop",
                 actions=[])
    make_session(staff_a, created, held_on=clock.today() - timedelta(days=10), topics="Old",
                 actions=[coaching.ActionInput("Send the invoice", clock.today() - timedelta(days=2)),
                          coaching.ActionInput("Later thing", clock.today() + timedelta(days=2))])
    client = as_user(staff_a.coach)
    body = client.get("/coaching/agenda").get_data(as_text=True)
    upcoming = body[body.index('id="upcoming"'):body.index('id="overdue"')]
    overdue = body[body.index('id="overdue"'):]
    assert "Visit the shop" in upcoming and "Old" not in upcoming
    assert "Send the invoice" in overdue and "Later thing" not in overdue
    action_id = re.search(r'/coaching/actions/(\d+)/done', overdue).group(1)
    post(client, f"/coaching/actions/{action_id}/done", {"done": "1"}, token_from="/coaching/agenda")
    assert "Send the invoice" not in client.get("/coaching/agenda").get_data(as_text=True)


def test_hours_per_coach_and_per_client(as_user, staff_a):
    first, second = make_client(staff_a, first_name="First"), make_client(staff_a, first_name="Second")
    make_session(staff_a, first, duration_minutes=90)
    make_session(staff_a, first, duration_minutes=30, coach_id=staff_a.officer.id)
    make_session(staff_a, second, duration_minutes=45)
    make_session(staff_a, second, duration_minutes=600 // 10, held_on=clock.today() + timedelta(days=5))
    with acting_for(staff_a.institution_id):
        per_coach = [(u.name, n, m) for u, n, m in coaching.hours_per_coach()]
        per_client = [(c.first_name, n, m) for c, n, m in coaching.hours_per_client()]
        only_coach = [(c.first_name, m) for c, n, m in coaching.hours_per_client(staff_a.coach.id)]
    assert per_coach == [("Coach Microstart", 2, 135), ("Officer Microstart", 1, 30)]
    assert per_client == [("First", 2, 120), ("Second", 1, 45)]
    assert only_coach == [("First", 90), ("Second", 45)]
    body = as_user(staff_a.officer).get("/coaching/hours").get_data(as_text=True)
    assert "2:15" in body and "First El Idrissi" in body


def test_training_capacity_enrolment_and_attendance(app, staff_a):
    training = make_training(staff_a, capacity=2)
    clients = [make_client(staff_a, first_name=f"Trainee{i}") for i in range(3)]
    web = app.test_client()
    login(web, staff_a.coach)
    for c in clients[:2]:
        response = post(web, f"/coaching/clients/{c.id}/enrol", {"training_id": str(training.id)},
                        token_from=f"/clients/{c.id}")
        assert response.status_code == 303
    again = post(web, f"/coaching/clients/{clients[0].id}/enrol", {"training_id": str(training.id)},
                 token_from=f"/clients/{clients[0].id}")
    assert again.status_code == 422 and "This client is already enrolled." in again.get_data(as_text=True)
    full = post(web, f"/coaching/clients/{clients[2].id}/enrol", {"training_id": str(training.id)},
                token_from=f"/clients/{clients[2].id}")
    body = full.get_data(as_text=True)
    assert full.status_code == 422
    assert 'id="training_id-error" class="field-error">The training is full (2 places).' in body
    assert count(staff_a, Enrolment) == 2
    page = web.get(f"/coaching/trainings/{training.id}").get_data(as_text=True)
    assert "2 of 2 places taken" in page
    ids = re.findall(r'name="attended-(\d+)"', page)
    post(web, f"/coaching/trainings/{training.id}", {f"attended-{ids[0]}": "1", f"attended-{ids[1]}": "0"},
         token_from="/coaching/trainings")
    with acting_for(staff_a.institution_id):
        assert sorted(e.attended for e in db.session.scalars(select(Enrolment))) == [False, True]
    timeline = web.get(f"/clients/{clients[0].id}/timeline").get_data(as_text=True)
    assert "Training: Bookkeeping basics" in timeline


def test_concurrent_enrolment_cannot_overfill(app, staff_a):
    """Two enrolments read the same free seat; the version check refuses the second."""
    from sqlalchemy.orm import Session

    training = make_training(staff_a, capacity=1)
    first, second = make_client(staff_a, first_name="One"), make_client(staff_a, first_name="Two")
    with acting_for(staff_a.institution_id):
        other = Session(db.engine)
        seen = other.get(type(training), training.id)  # a second worker read the training too
        assert len(seen.enrolments) == 0
        coaching.enrol(training.id, first.id)
        other.add(Enrolment(training_id=training.id, client_id=second.id, institution_id=staff_a.institution_id))
        from sqlalchemy.orm.attributes import flag_modified
        from sqlalchemy.orm.exc import StaleDataError

        flag_modified(seen, "capacity")
        try:
            other.commit()
            overfilled = True
        except StaleDataError:
            other.rollback()
            overfilled = False
        other.close()
    assert not overfilled and count(staff_a, Enrolment) == 1


def test_training_form_errors(as_user, staff_a):
    client = as_user(staff_a.officer)
    response = post(client, "/coaching/trainings", {"title": "", "place": "Gent", "starts_on": "2030-05-02",
                                                    "ends_on": "2030-05-01", "capacity": "0"},
                    token_from="/coaching/trainings")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the training a title." in body and "The last day cannot be before the first." in body
    assert "Enter a capacity between 1 and 500." in body and 'value="Gent"' in body
    ok = post(client, "/coaching/trainings", {"title": "Marketing", "place": "Gent", "starts_on": "2030-05-02",
                                              "ends_on": "2030-05-02", "capacity": "12"},
              token_from="/coaching/trainings")
    assert ok.status_code == 303
    assert "Marketing" in client.get("/coaching/trainings").get_data(as_text=True)


def test_enrolling_in_another_institutions_training_is_refused(as_user, staff_a, staff_b):
    theirs = make_training(staff_b)
    mine = make_client(staff_a)
    client = as_user(staff_a.officer)
    response = post(client, f"/coaching/clients/{mine.id}/enrol", {"training_id": str(theirs.id)},
                    token_from=f"/clients/{mine.id}")
    assert response.status_code == 422
    assert "Choose a training of your institution." in response.get_data(as_text=True)
    assert count(staff_b, Enrolment) == 0


def test_agreed_actions_are_listed_and_toggled_on_the_client_page(as_user, staff_a):
    created = make_client(staff_a)
    make_session(staff_a, created, actions=[coaching.ActionInput("Register at the KBO", date(2020, 1, 1))])
    client = as_user(staff_a.coach)
    page = f"/clients/{created.id}"
    body = client.get(page).get_data(as_text=True)
    assert "Register at the KBO" in body and "overdue" in body
    action_id = re.search(r'/coaching/actions/(\d+)/done', body).group(1)
    back = post(client, f"/coaching/actions/{action_id}/done", {"done": "1", "next": page + "#coaching"},
                token_from=page)
    assert back.headers["Location"] == page + "#coaching"
    assert "Reopen" in client.get(page).get_data(as_text=True)
    away = post(client, f"/coaching/actions/{action_id}/done", {"done": "0", "next": "https://evil.example/"},
                token_from=page)
    assert away.headers["Location"] == "/"


def test_national_number_must_match_the_birth_date(app, staff_a):
    import pytest

    from core.services import clients
    from core.services.errors import ValidationFailed
    from tests.clients_data import client_data

    with app.test_request_context(), acting_for(staff_a.institution_id):
        with pytest.raises(ValidationFailed) as failed:
            clients.create_client(client_data(birth_date=date(1986, 7, 30)), user=staff_a.officer)
        assert "born on another date" in str(failed.value.errors["national_number"])


def test_coaching_stays_open_while_a_loan_is_outstanding(app, staff_a):
    import pytest

    from core.services import coaching
    from core.services.errors import ValidationFailed
    from core.tenancy import acting_for
    from tests.clients_data import make_client
    from tests.loans_data import make_loan

    client = make_client(staff_a, first_name="Open", last_name="Track")
    make_loan(staff_a, client)
    with acting_for(staff_a.institution_id):
        coaching.open_track(client.id)
        with pytest.raises(ValidationFailed) as refused:
            coaching.close_track(client.id, final_note="Done")
        assert "loan outstanding" in str(refused.value.errors[""])
        assert coaching.track_of(client.id).status == "open"


@pytest.mark.parametrize("lang,full_text,taken_text", [
    ("en", "The training is full (1 place).", "1 of 1 place taken"),
    ("nl", "De opleiding is volzet (1 plaats).", "1 van 1 plaats bezet"),
    ("fr", "La formation est complète (1 place).", "1 place prise sur 1"),
])
def test_a_training_of_one_place_says_place_in_the_singular(app, staff_a, lang, full_text, taken_text):
    training = make_training(staff_a, capacity=1)
    first, second = (make_client(staff_a, first_name=f"Solo{i}") for i in range(2))
    web = app.test_client()
    login(web, staff_a.coach)
    post(web, "/language", {"lang": lang})
    assert post(web, f"/coaching/clients/{first.id}/enrol", {"training_id": str(training.id)},
                token_from=f"/clients/{first.id}").status_code == 303
    full = post(web, f"/coaching/clients/{second.id}/enrol", {"training_id": str(training.id)},
                token_from=f"/clients/{second.id}")
    body = full.get_data(as_text=True)
    assert full.status_code == 422 and full_text in body and "plaatsen" not in body
    assert count(staff_a, Enrolment) == 1
    page = web.get(f"/coaching/trainings/{training.id}").get_data(as_text=True)
    assert taken_text in page


def test_counted_messages_use_the_plural_forms_of_each_language(app):
    from flask_babel import force_locale, ngettext

    with app.test_request_context():
        for lang, one, many in (("nl", "1 maandelijkse aflossing vanaf x", "12 maandelijkse aflossingen vanaf x"),
                                ("fr", "1 mensualité à partir du x", "12 mensualités à partir du x"),
                                ("en", "1 monthly instalment from x", "12 monthly instalments from x")):
            with force_locale(lang):
                texts = [ngettext("%(num)d monthly instalment from %(date)s",
                                  "%(num)d monthly instalments from %(date)s", n, date="x") for n in (1, 12)]
            assert texts == [one, many]


def test_no_template_puts_a_count_before_a_fixed_plural_noun():
    """A count followed by a plural noun in one gettext string reads "(1 places)": such strings go
    through ngettext. The few left are counts that are never one (follow-ups at 12, 24, 36 months;
    the reports' longest period), a decimal (1.5 months of interest) or two counts at once."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "core"
    pattern = re.compile(r'_l?\(\s*"[^"]*%\([a-z_]+\)[sd] (places|months|days|minutes|clients|loans|payments|'
                         r'lines|clause\(s\)|monthly instalments)\b')
    never_one = ("It is %(months)s months", "received your answers about your business, %(months)s months",
                 "Follow-ups at %(months)s months", "Hello %(name)s, %(months)s months",
                 "Follow-up at %(months)s months", "%(months)s months", "at most %(months)d months",
                 "after %(idle)d minutes", "%(loans)s loans of %(clients)s clients")
    found = [f"{path.relative_to(root)}: {match.group(0)}"
             for path in [*root.rglob("*.html"), *root.rglob("*.txt"), *root.rglob("*.py")]
             for match in pattern.finditer(path.read_text(encoding="utf-8"))
             if not match.group(0).endswith(never_one)]
    assert found == []
