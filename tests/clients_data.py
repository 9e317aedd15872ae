"""Building clients, sessions and trainings for tests, through the services."""
from __future__ import annotations

from datetime import date

from core.services import clients, coaching
from core.tenancy import acting_for

VALID_IBAN = "BE71096123456769"
VALID_ENTERPRISE = "0403170701"


def national_number(birth: date, serial: int = 33) -> str:
    """A valid national register number for a birth date (serial 1–997)."""
    body = f"{birth:%y%m%d}{serial:03d}"
    base = int(("2" if birth.year >= 2000 else "") + body)
    return body + f"{97 - base % 97:02d}"


def client_data(**overrides) -> dict:
    data = {
        "first_name": "Amina", "last_name": "El Idrissi", "birth_date": date(1985, 7, 30),
        "gender": "female", "email": "amina@example.be", "phone": "0470 12 34 56",
        "street": "Rue Haute 10", "postal_code": "1000", "city": "Bruxelles",
        "preferred_language": "fr", "country_of_birth": "MA", "education_level": "lower_secondary",
        "employment_status": "job_seeker", "disability": False, "household_size": 3,
        "enterprise_name": "Saveurs d'Amina", "enterprise_number": VALID_ENTERPRISE,
        "legal_form": "sole_trader", "sector": "horeca", "enterprise_start_date": None,
        "stage": "project", "iban": VALID_IBAN, "coach_id": None,
        "national_number": national_number(date(1985, 7, 30)),
    }
    data.update(overrides)
    return data


def make_client(staff, **overrides):
    """A client of ``staff``'s institution, created by its officer."""
    with acting_for(staff.institution_id):
        return clients.create_client(client_data(**overrides), user=staff.officer,
                                     confirm_duplicate=True)


def make_session(staff, client, **overrides):
    from core.services.chores import today  # the application's today is Brussels', not the server's

    values = dict(coach_id=staff.coach.id, held_on=today(), duration_minutes=60,
                  channel="in_person", topics="Business plan", notes="",
                  actions=[coaching.ActionInput("Ask three suppliers for prices", date(2020, 1, 1))])
    values.update(overrides)
    with acting_for(staff.institution_id):
        return coaching.add_session(client.id, **values)


def make_training(staff, **overrides):
    values = dict(title="Bookkeeping basics", starts_on=date(2030, 3, 1), ends_on=date(2030, 3, 2),
                  place="Anderlecht", capacity=2)
    values.update(overrides)
    with acting_for(staff.institution_id):
        return coaching.create_training(**values)
