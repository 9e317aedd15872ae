"""Data for the tenant-isolation walker (core.testing.isolation).

When you add a route with a new URL parameter, add a provider here that returns the value of a
record belonging to the given institution's ``staff``; add a marker for text only that
institution's pages may show. The walker in tests/test_isolation.py does the rest.
"""
from core.testing.isolation import marker, provides


@provides("user_id")
def a_user(staff):
    return staff.coach.id


@provides("token")
def an_invitation_token(staff):
    # Invitation links are public by design (the token is the credential); a guessed one is 404.
    return "guessed-invitation-token"


@provides("code")
def a_self_referral_link_code(staff):
    # A referrer's self-referral link /refer/<code> is public by design (printed on refusal
    # letters) and belongs to no institution; a guessed code is 404.
    return "guessedcode"


@marker
def staff_identity(staff):
    return [staff.coach.email, staff.admin.email, staff.officer.email]


# --- referral registry ---------------------------------------------------------------------

_ROUTES_TO = {"microstart": ("1000", "en"), "hefboom": ("9000", "nl"), "brusoc": ("1000", "nl"),
              "credal": ("5000", "fr")}


def _referral_offer(staff):
    """A referral offered to ``staff``'s institution, created once per test through the registry."""
    if getattr(staff, "_offer_id", None) is None:
        from sqlalchemy import select

        from core.api.schemas import ReferralIn
        from core.extensions import db
        from core.models.referrals import ReferralOffer
        from core.services import referrals, referrers
        from core.tenancy import all_institutions
        from tests.referral_helpers import body

        postal_code, language = _ROUTES_TO[staff.slug]
        issued = referrers.add_referrer(name=f"Isolation bank {staff.slug}", kind="bank")
        data = ReferralIn.model_validate(body(external_reference=f"ISO-{staff.slug}", **{
            "applicant.postal_code": postal_code, "applicant.language": language,
            "applicant.first_name": f"Applicant{staff.slug.title()}"}))
        referral = referrals.receive(issued.referrer, data)
        with all_institutions("isolation fixture"):
            offer = db.session.scalar(select(ReferralOffer).where(ReferralOffer.referral_id == referral.id))
        assert offer.institution_id == staff.institution_id, "isolation fixture routed elsewhere"
        staff._offer_id = offer.id
    return staff._offer_id


@provides("offer_id")
def a_referral_offer(staff):
    return _referral_offer(staff)


@marker
def referral_applicant(staff):
    _referral_offer(staff)
    return [f"Applicant{staff.slug.title()}"]
# --- clients and coaching ---------------------------------------------------------------------

def _client_records(staff):
    """One client of ``staff``'s institution with a consent, a session and a training (made once)."""
    if not hasattr(staff, "_client_records"):
        from datetime import date

        from core.services import clients, coaching
        from core.tenancy import acting_for
        from tests.clients_data import make_client, make_session, make_training

        client = make_client(staff, first_name="Isolde", last_name=f"Marker-{staff.slug}",
                             enterprise_name=f"Secret shop of {staff.slug}")
        session = make_session(staff, client)
        training = make_training(staff, title=f"Training of {staff.slug}")
        with acting_for(staff.institution_id):
            consent = clients.record_consent(client.id, kind="data_processing",
                                             given_on=date(2024, 1, 1), method="paper",
                                             user=staff.officer)
            export = clients.start_export(clients.ClientFilters(), "csv", user=staff.officer)
            coaching.enrol(training.id, client.id)
            action_id = session.actions[0].id
        staff._client_records = {"client_id": client.id, "consent_id": consent.id,
                                 "action_id": action_id, "training_id": training.id,
                                 "export_id": export.id,
                                 "markers": [client.last_name, client.enterprise_name, training.title]}
    return staff._client_records


@provides("client_id")
def a_client(staff):
    return _client_records(staff)["client_id"]


@provides("consent_id")
def a_consent(staff):
    return _client_records(staff)["consent_id"]


@provides("action_id")
def an_agreed_action(staff):
    return _client_records(staff)["action_id"]


@provides("training_id")
def a_training(staff):
    return _client_records(staff)["training_id"]


@provides("export_id")
def an_export(staff):
    return _client_records(staff)["export_id"]


@marker
def client_identity(staff):
    return _client_records(staff)["markers"]
@marker
def declared_settings(staff):
    # The settings page lists the institution's own plugin's settings, never another's.
    from core.plugins import state

    # A setting every plugin declares (the core's shared ones, such as the referral language
    # rule) is not a marker: its label is on every institution's page by right.
    profile = state().institution(staff.slug)
    others = {setting.label("en") for slug, institution in state().institutions.items()
              if slug != staff.slug for setting in institution.settings()}
    return [setting.label("en") for setting in profile.settings() if setting.label("en") not in others]
# --- compliance ---------------------------------------------------------------------------
# Compliance records are deliberately absent from the markers: federation auditors may read
# every institution's self-assessment (never client data); tests/test_compliance_web.py checks
# that institutions never see each other's.

def _compliance_records(staff):
    """One self-assessment of ``staff``'s institution with an answer and an evidence file
    (created once, found again on later calls)."""
    import io

    from sqlalchemy import select

    from core import tenancy
    from core.extensions import db
    from core.models import Assessment, EvidenceFile
    from core.services.compliance import assessments, catalogue, evidence

    starter = catalogue.find("eu-code-summary", "2021-wip-1") or catalogue.load_starter()
    with tenancy.acting_for(staff.institution_id):
        assessment = db.session.scalar(select(Assessment).order_by(Assessment.id))
        if assessment is None:
            assessment = assessments.create(by=staff.admin, catalogue_id=starter.id, larger_provider=False,
                                            period_start="2025-01-01", period_end="2025-12-31")
            clause = starter.clauses[0]
            assessments.save_answer(assessment=assessment, clause=clause, by=staff.admin, answer="met")
            evidence.store_file(assessment=assessment, clause=clause, filename="policy.txt",
                                stream=io.BytesIO(b"our policy"), by=staff.admin)
        record = db.session.scalar(select(EvidenceFile).order_by(EvidenceFile.id))
        return assessment, starter.clauses[0], record


@provides("assessment_id")
def an_assessment(staff):
    return _compliance_records(staff)[0].id


@provides("clause_id")
def a_clause(staff):
    return _compliance_records(staff)[1].id


@provides("file_id")
def an_evidence_file(staff):
    return _compliance_records(staff)[2].id


@provides("kind")
def an_export_kind(staff):
    return "csv"  # text, which the walker reads; the PDF is covered in test_compliance_web.py


# --- lending ------------------------------------------------------------------------------
# The isolation client gets a late, paid-out loan with a payment and a second application
# waiting for a decision, so the late-loans list and the approval queue show its name (a marker).

_PRODUCT = {"microstart": "jump", "hefboom": "impulskrediet", "credal": "microcredit_pro", "brusoc": "open_up"}


def _loan_records(staff):
    if not hasattr(staff, "_loan_records"):
        from datetime import date

        from core.services import loans, repayments
        from core.tenancy import acting_for
        from tests.loans_data import application

        client_id = _client_records(staff)["client_id"]
        data = application(product_code=_PRODUCT[staff.slug], own_contribution="0", principal="5000")
        with acting_for(staff.institution_id):
            loan = loans.draft_application(client_id, data, user=staff.officer)
            loans.submit(loan.id, user=staff.officer)
            loans.decide(loan.id, user=staff.admin, approve=True, version=loans.get_loan(loan.id).version)
            loans.disburse(loan.id, on=date(2025, 1, 15), user=staff.admin)
            entry = repayments.record_payment(loan.id, paid_on=date(2025, 2, 15), amount="100", user=staff.officer)
            waiting = loans.draft_application(client_id, data, user=staff.officer)
            loans.submit(waiting.id, user=staff.officer)
        staff._loan_records = {"loan_id": loan.id, "entry_id": entry.id}
    return staff._loan_records


@provides("loan_id")
def a_loan(staff):
    return _loan_records(staff)["loan_id"]


@provides("entry_id")
def a_ledger_entry(staff):
    return _loan_records(staff)["entry_id"]


@marker
def loan_borrowers(staff):
    _loan_records(staff)
    return _client_records(staff)["markers"][:1]


@provides("run_id")
def an_import_run(staff):
    if not hasattr(staff, "_import_run"):
        from core.services import portfolio_writer
        from core.tenancy import acting_for

        with acting_for(staff.institution_id):
            staff._import_run = portfolio_writer.start_run("isolation.csv", "client_ref\n", user=staff.admin).id
    return staff._import_run
# --- reports -----------------------------------------------------------------------------------

@marker
def report_figures(staff):
    """A loan of an unusual amount: only its own institution's reports may show the figure."""
    if not getattr(staff, "_report_loan", False):
        from datetime import date

        from tests.reports_data import make_loan, person

        make_loan(staff, person(staff, last_name=f"Report-{staff.slug}"), "97531.00", date(2025, 5, 5))
        staff._report_loan = True
    return ["97,531.00", "97531.00", "97.531,00"]


# --- notifications --------------------------------------------------------------------------

def _notification(staff):
    """A notification of ``staff``'s admin (a late instalment), made once per test."""
    if getattr(staff, "_notification_id", None) is None:
        from core.extensions import db
        from core.services import notifications
        from core.tenancy import acting_for

        with acting_for(staff.institution_id):
            [item] = notifications.notify([staff.admin], "instalment_late",
                                          {"client": f"Notified-{staff.slug}", "due_on": "2026-01-01",
                                           "days": 9}, "/loans/late")
            db.session.commit()
            staff._notification_id = item.id
    return staff._notification_id


@provides("notification_id")
def a_notification(staff):
    return _notification(staff)


@marker
def notification_text(staff):
    _notification(staff)
    return [f"Notified-{staff.slug}"]


# --- bank statements -------------------------------------------------------------------------

def _queued_statement_line(staff):
    """A statement line of ``staff``'s institution waiting in the queue, made once per test."""
    if getattr(staff, "_statement_line_id", None) is None:
        from core.services import statements
        from core.tenancy import acting_for

        with acting_for(staff.institution_id):
            statements.book(f"date,amount,reference,counterparty\n2025-02-15,321.09,,Payer-{staff.slug}\n",
                            "isolation.csv", user=staff.officer)
            staff._statement_line_id = statements.queued()[0].id
    return staff._statement_line_id


@provides("line_id")
def a_statement_line(staff):
    return _queued_statement_line(staff)


@marker
def statement_line_text(staff):
    _queued_statement_line(staff)
    return [f"Payer-{staff.slug}"]


# --- the operator's screens (issue 13, point 6) ---------------------------------------------------
# /operator/... routes are open to the operator only (403 for institution staff, who the walker
# therefore skips); the federation walker opens them as the operator, who must see no
# institution's records there. Referrers and their tokens belong to no institution.

@provides("institution_id")
def an_institution(staff):
    return staff.institution_id


def _isolation_referrer(staff):
    if getattr(staff, "_isolation_token", None) is None:
        from core.services import referrers

        issued = referrers.add_referrer(name=f"Operator-screen bank {staff.slug}", kind="bank")
        staff._isolation_token = (issued.referrer.id, issued.token.id)
    return staff._isolation_token


@provides("referrer_id")
def a_referrer(staff):
    return _isolation_referrer(staff)[0]


@provides("token_id")
def a_referrer_token(staff):
    return _isolation_referrer(staff)[1]


# --- the advisers' portal ----------------------------------------------------------------------

@provides("referral_id")
def a_portal_referral(staff):
    # /portal/referrals/<referral_id> is open to portal users only, who see their organisation's
    # referrals: the referral offered to ``staff``'s institution belongs to another organisation
    # (tests/test_portal.py walks the portal as two organisations' advisers).
    from sqlalchemy import select

    from core.extensions import db
    from core.models.referrals import ReferralOffer
    from core.tenancy import all_institutions

    offer_id = _referral_offer(staff)
    with all_institutions("isolation fixture"):
        return db.session.scalar(select(ReferralOffer.referral_id).where(ReferralOffer.id == offer_id))


# --- sessions (issue 14.3) ------------------------------------------------------------------

@provides("user_session_id")
def a_user_session(staff):
    """A live session of the institution's coach: another user signing it out gets 404."""
    from core.services import user_sessions

    user_sessions.start(staff.coach, ip="192.0.2.1", user_agent="isolation")
    return user_sessions.active_for(staff.coach)[0].id


# --- cost and social return (issue 16, point 3) ------------------------------------------------

@marker
def budget_and_assumptions(staff):
    """A budget and an assumption of unusual amounts: only its own institution's admin page and
    impact report may show them (the walker's sector view is of the current year: none there)."""
    if not getattr(staff, "_budget", False):
        from decimal import Decimal

        from core.services.reports import cost
        from core.tenancy import acting_for

        with acting_for(staff.institution_id):
            cost.save_budget(2025, Decimal("86420.13"))
            values = {**cost.assumptions(), "other_benefit_per_person": Decimal("7531.86")}
            cost.save_assumptions(values)
        staff._budget = True
    return ["86,420.13", "7,531.86"]


# --- follow-ups (issue 16) ------------------------------------------------------------------
# The public link /followup/<token> is covered by the "token" provider above: a guessed token is 404.

@provides("followup_id")
def a_followup(staff):
    """A follow-up (due at 6 months) of a consenting client of ``staff``'s institution."""
    if getattr(staff, "_followup_id", None) is None:
        from datetime import date

        from tests.followup_helpers import consent, followup_of, run_chore
        from tests.reports_data import make_loan, person

        client = person(staff, last_name=f"Followed-{staff.slug}")
        make_loan(staff, client, "4321.00", date(2025, 1, 10))
        consent(staff, client)
        run_chore(staff, date(2025, 7, 10))
        staff._followup_id = followup_of(staff, client, 6).id
    return staff._followup_id


# --- saved filters (issue 15, point 2) --------------------------------------------------------

def _saved_filter(staff):
    """A saved filter of each of ``staff``'s users (one list each), made once; the coach's is the id."""
    if getattr(staff, "_saved_filter_id", None) is None:
        from core.services import saved_filters
        from core.tenancy import acting_for

        with acting_for(staff.institution_id):
            for user, list_key in ((staff.admin, "audit"), (staff.officer, "loans")):
                saved_filters.save(list_key, f"Saved view of {staff.slug} {user.role}", [("sort", "-submitted")],
                                   user=user)
            found = saved_filters.save("clients", f"Saved view of {staff.slug}", [("stage", "starter")],
                                       user=staff.coach)
        staff._saved_filter_id = found.id
    return staff._saved_filter_id


@provides("saved_filter_id")
def a_saved_filter(staff):
    return _saved_filter(staff)


@marker
def saved_filter_names(staff):
    _saved_filter(staff)
    return [f"Saved view of {staff.slug}"]
