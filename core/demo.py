"""Demo data: the enabled institutions, one user per role per institution, federation staff."""
from __future__ import annotations

import secrets

from sqlalchemy import select

from core import clock
from core.extensions import db
from core.models import INSTITUTION_ROLES, User
from core.services import accounts, audit
from core.services.institutions import enabled_institutions
from core.tenancy import all_institutions

DEMO_DOMAIN = "demo.microfin.be"
LANGUAGE_OF = {"microstart": "fr", "credal": "fr", "hefboom": "nl", "brusoc": "fr"}


def demo_users() -> list[tuple[str, str, str | None, str]]:
    """(email, role, institution slug, language) of every demo account for the enabled plugins."""
    rows = []
    for institution in enabled_institutions():
        language = LANGUAGE_OF.get(institution.slug, "en")
        for role in INSTITUTION_ROLES:
            rows.append((f"{role}@{institution.slug}.{DEMO_DOMAIN}", role, institution.slug, language))
    rows.append((f"auditor@federation.{DEMO_DOMAIN}", "auditor", None, "nl"))
    rows.append((f"operator@{DEMO_DOMAIN}", "operator", None, "en"))
    return rows


def _strong_password(email: str, name: str) -> str:
    """A random password the password rule accepts (a random string can, rarely, look guessable)."""
    from core.services.errors import ValidationFailed

    while True:
        password = secrets.token_urlsafe(12)
        try:
            accounts.check_password_strength(password, user_inputs=(email, name))
        except ValidationFailed:
            continue
        return password


def load_demo() -> list[tuple[str, str, str | None, str]]:
    """Create missing demo accounts; return (email, role, institution, password) of those created."""
    ids = {row.slug: row.id for row in enabled_institutions()}
    created = []
    with audit.acting_as("demo"), all_institutions("demo data spans the sector"):
        existing = set(db.session.scalars(select(User.email)))
        for email, role, slug, language in demo_users():
            if email in existing:
                continue
            name = f"{role.capitalize()} {slug.capitalize() if slug else 'Federation'}"
            password = _strong_password(email, name)
            accounts.create_user(email=email, name=name, role=role, institution_id=ids.get(slug),
                                 password=password, preferred_language=language)
            created.append((email, role, slug, password))
        _load_starter_catalogue()
    _load_sample_files()
    return created


def _load_starter_catalogue() -> None:
    """The starter code-of-conduct catalogue, unless a version of it is already loaded."""
    from core.models import Catalogue
    from core.services.compliance import catalogue

    if db.session.scalar(select(Catalogue.id).limit(1)) is None:
        catalogue.load_starter()


# --- sample client files and referrals (idempotent: only where an institution has none) ---------

SAMPLE_PEOPLE = (
    # first name, last name, birth date, gender, education, employment, sector, stage
    ("Amina", "El Idrissi", "1988-03-14", "female", "lower_secondary", "job_seeker", "horeca", "project"),
    ("Pieter", "Claes", "1999-11-02", "male", "upper_secondary", "employed", "transport", "starter"),
    ("Fatou", "Diallo", "1979-06-21", "female", "higher", "self_employed", "care", "established"),
    ("Luca", "Romano", "2001-01-30", "male", "primary", "job_seeker", "construction", "project"),
    ("Sarah", "Dubois", "1993-08-08", "female", "upper_secondary", "inactive", "retail", "starter"),
    ("Mehmet", "Yilmaz", "1985-04-17", "male", "lower_secondary", "job_seeker", "services", "established"),
)
SAMPLE_ENTERPRISE_NUMBERS = ("0403170701", "0417692391", "0812345603", "0550123424", "0660987692",
                             "0770032124")
SAMPLE_PRODUCTS = {"microstart": "jump", "credal": "microcredit_pro", "hefboom": "impulskrediet",
                   "brusoc": "open_up"}
SAMPLE_POSTAL_CODES = {"microstart": ("1070", "9000", "4000", "2000", "6000", "1000"),
                       "credal": ("1348", "5000", "6000", "1000", "1348", "5000"),
                       "hefboom": ("9000", "2000", "3000", "8000", "9000", "3500"),
                       "brusoc": ("1000", "1030", "1060", "1080", "1210", "1070")}


def _load_sample_files() -> None:
    """A handful of clients with coaching per institution, and a demo bank's referrals."""
    from datetime import date, timedelta

    from core.models.people import Client
    from core.services import clients, coaching
    from core.tenancy import acting_for

    for institution in enabled_institutions():
        codes = SAMPLE_POSTAL_CODES.get(institution.slug)
        if codes is None:
            continue
        with acting_for(institution.id), audit.acting_as("demo"):
            if db.session.scalar(select(Client.id).limit(1)) is not None:
                continue
            officer = db.session.scalar(select(User).where(User.role == "officer"))
            coach = db.session.scalar(select(User).where(User.role == "coach"))
            if officer is None or coach is None:
                continue
            language = LANGUAGE_OF.get(institution.slug, "fr")
            made = []
            for (first, last, born, gender, education, employment, sector, stage), code, number in zip(
                    SAMPLE_PEOPLE, codes, SAMPLE_ENTERPRISE_NUMBERS):
                client = clients.create_client({
                    "first_name": first, "last_name": last, "birth_date": date.fromisoformat(born),
                    "gender": gender, "postal_code": code, "preferred_language": language,
                    "education_level": education, "employment_status": employment, "sector": sector,
                    "stage": stage, "enterprise_name": f"{first}'s {sector.replace('_', ' ')}",
                    "coach_id": coach.id, "country_of_birth": "BE" if last in ("Claes", "Dubois") else None,
                    "enterprise_number": number,
                }, user=officer, confirm_duplicate=True)
                made.append(client)
                coaching.add_session(client.id, coach_id=coach.id, held_on=clock.today() - timedelta(days=7),
                                     duration_minutes=90, channel="in_person", topics="Business plan",
                                     actions=[coaching.ActionInput("Collect three supplier quotes",
                                                                   clock.today() + timedelta(days=14))])
            coaching.create_training(title="Bookkeeping basics", starts_on=clock.today() + timedelta(days=21),
                                     ends_on=clock.today() + timedelta(days=21), place=institution.name("fr"),
                                     capacity=12)
            admin = db.session.scalar(select(User).where(User.role == "admin"))
            _sample_loans(SAMPLE_PRODUCTS.get(institution.slug), made[:4], officer, admin)
    _load_sample_referrals()


def _sample_loans(product_code, borrowers, officer, admin) -> None:
    """Loans paid out 10 months ago: two paid on time, one late, one application waiting."""
    from datetime import timedelta

    from core.services import loans, repayments
    from core.services.errors import ValidationFailed

    if product_code is None or admin is None:
        return
    paid_out = clock.today().replace(day=1) - timedelta(days=300)
    for index, client in enumerate(borrowers):
        data = {"product_code": product_code, "principal": str(6000 + 2000 * index), "term_months": "36",
                "purpose_category": "investment", "purpose": "Equipment", "honour_loan": "0",
                "honour_deferral_months": "0", "grace_months": "0", "bank_cofinancing": "0",
                "own_contribution": "600"}
        try:
            loan = loans.draft_application(client.id, data, user=officer)
            loans.submit(loan.id, user=officer)
            if index == 3:
                continue  # waits for a decision in the approval queue
            loan = loans.decide(loan.id, user=admin, approve=True, version=loans.get_loan(loan.id).version)
            loan = loans.disburse(loan.id, on=paid_out, user=admin)
        except ValidationFailed:
            continue  # a plugin's settings may rule the sample out; the demo does without it
        months_paid = {0: 10, 1: 9, 2: 5}[index]
        lines = sorted((line for line in loan.schedule_lines), key=lambda line: line.due_date)
        for line in [line for line in lines[:months_paid] if line.due_date <= clock.today()]:  # never in the future
            repayments.record_payment(loan.id, paid_on=line.due_date, user=officer,
                                      amount=str(line.principal + line.interest + line.fees))


def _load_sample_referrals() -> None:
    from datetime import timedelta

    from core.api.schemas import ReferralIn
    from core.models.referrals import Referrer
    from core.services import referrals, referrers

    if db.session.scalar(select(Referrer.id).where(Referrer.name == "Demo Bank")) is not None:
        return
    issued = referrers.add_referrer(name="Demo Bank", kind="bank")
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    samples = (("DEMO-1", "Lotte", "Janssens", "9000", "nl", "12000.00", "horeca", "starter"),
               ("DEMO-2", "Karim", "Benali", "1080", "fr", "8000.00", "services", "project"),
               ("DEMO-3", "Julie", "Lambert", "5000", "fr", "20000.00", "retail", "established"))
    for reference, first, last, code, language, amount, sector, stage in samples:
        referrals.receive(issued.referrer, ReferralIn.model_validate({
            "external_reference": reference,
            "consent": {"given_at": f"{yesterday}T10:00:00+01:00", "method": "written",
                        "scope": ["share_with_mfi", "contact"]},
            "applicant": {"first_name": first, "last_name": last, "birth_date": "1990-05-05",
                          "email": f"{first.lower()}@example.be", "phone": "+32 470 00 00 00",
                          "postal_code": code, "language": language},
            "project": {"amount_requested": amount, "sector": sector, "stage": stage,
                        "purpose": "Equipment", "purpose_category": "investment"},
            "refusal": {"decided_on": yesterday, "reasons": ["insufficient_collateral"]}}))
