"""The follow-up questionnaire: a versioned definition of core questions, plus any a plugin adds.

Core questions are ``ClientField`` declarations (typed, labelled in nl, fr and en, with a parser),
so a plugin's questions (hook ``followup_questions``) are built, shown and checked the same way.
``parse_answers`` turns what was typed into typed answers or raises ``ValidationFailed`` naming
each bad field; questions that do not apply (why it stopped, for an active business) are dropped.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

from core.plugin_api import ClientField, texts
from core.services.errors import ValidationFailed

CORE_VERSION = "core-1"
NONE = ""  # the empty choice of a question that may not apply
STOPPED_REASONS = ("finances", "market", "health", "family", "other")
SITUATIONS = ("employed", "job_seeker", "other")
REVENUE_BANDS = ("none", "under_25k", "25k_50k", "50k_100k", "100k_250k", "over_250k")
CREDIT_KINDS = ("investment", "working_capital", "mortgage", "other")
MAX_FTE = Decimal("1000")


def _choices(*pairs):
    return {key: texts(en, nl, fr) for key, en, nl, fr in pairs}


ACTIVE = ClientField("active", "choice", texts("Is your business still active?", "Is uw onderneming nog actief?",
                                                "Votre entreprise est-elle toujours active ?"),
                     choices=(NONE, "yes", "no"),
                     choice_labels=_choices((NONE, "—", "—", "—"), ("yes", "Yes, still active", "Ja, nog actief",
                                                                    "Oui, toujours active"),
                                            ("no", "No, it stopped", "Nee, ze is gestopt", "Non, elle s'est arrêtée")))
STOPPED_REASON = ClientField(
    "stopped_reason", "choice", texts("If it stopped: why?", "Als ze gestopt is: waarom?", "Si elle s'est arrêtée : pourquoi ?"),
    choices=(NONE, *STOPPED_REASONS),
    choice_labels=_choices((NONE, "—", "—", "—"), ("finances", "Not profitable enough", "Niet rendabel genoeg",
                                                   "Pas assez rentable"),
                           ("market", "Too little demand or competition", "Te weinig vraag of concurrentie",
                            "Trop peu de demande ou concurrence"),
                           ("health", "Health", "Gezondheid", "Santé"),
                           ("family", "Family reasons", "Familiale redenen", "Raisons familiales"),
                           ("other", "Another reason", "Een andere reden", "Une autre raison")))
SITUATION = ClientField(
    "situation", "choice", texts("If it stopped: your situation now", "Als ze gestopt is: uw situatie nu",
                                 "Si elle s'est arrêtée : votre situation aujourd'hui"),
    choices=(NONE, *SITUATIONS),
    choice_labels=_choices((NONE, "—", "—", "—"), ("employed", "Employed", "In loondienst", "Salarié(e)"),
                           ("job_seeker", "Job seeker", "Werkzoekend", "Demandeur/demandeuse d'emploi"),
                           ("other", "Other", "Andere", "Autre")))
JOBS = ClientField("jobs_fte", "decimal",
                   texts("Jobs created besides yourself (full-time equivalents, e.g. 1.5)",
                         "Banen gecreëerd naast uzelf (voltijdse equivalenten, bv. 1,5)",
                         "Emplois créés en plus de vous-même (équivalents temps plein, p. ex. 1,5)"))
REVENUE = ClientField(
    "revenue_band", "choice", texts("Yearly revenue", "Jaaromzet", "Chiffre d'affaires annuel"),
    choices=(NONE, *REVENUE_BANDS),
    choice_labels=_choices((NONE, "—", "—", "—"), ("none", "No revenue", "Geen omzet", "Pas de chiffre d'affaires"),
                           ("under_25k", "Under 25,000 EUR", "Minder dan 25.000 EUR", "Moins de 25 000 EUR"),
                           ("25k_50k", "25,000 to 50,000 EUR", "25.000 tot 50.000 EUR", "25 000 à 50 000 EUR"),
                           ("50k_100k", "50,000 to 100,000 EUR", "50.000 tot 100.000 EUR", "50 000 à 100 000 EUR"),
                           ("100k_250k", "100,000 to 250,000 EUR", "100.000 tot 250.000 EUR",
                            "100 000 à 250 000 EUR"),
                           ("over_250k", "Over 250,000 EUR", "Meer dan 250.000 EUR", "Plus de 250 000 EUR")))
BANK_CREDIT = ClientField(
    "bank_credit", "choice", texts("Have you obtained a bank credit since your microcredit?",
                                   "Hebt u sinds uw microkrediet een bankkrediet gekregen?",
                                   "Avez-vous obtenu un crédit bancaire depuis votre microcrédit ?"),
    choices=(NONE, "yes", "no"), choice_labels=_choices((NONE, "—", "—", "—"), ("yes", "Yes", "Ja", "Oui"),
                                                        ("no", "No", "Nee", "Non")))
CREDIT_KIND = ClientField(
    "bank_credit_kind", "choice", texts("If yes: which kind?", "Zo ja: welk soort?", "Si oui : de quel type ?"),
    choices=(NONE, *CREDIT_KINDS),
    choice_labels=_choices((NONE, "—", "—", "—"), ("investment", "Investment credit", "Investeringskrediet",
                                                   "Crédit d'investissement"),
                           ("working_capital", "Working capital, overdraft", "Bedrijfskapitaal, kaskrediet",
                            "Fonds de roulement, crédit de caisse"),
                           ("mortgage", "Mortgage", "Hypothecair krediet", "Crédit hypothécaire"),
                           ("other", "Other", "Andere", "Autre")))
CORE_QUESTIONS = (ACTIVE, STOPPED_REASON, SITUATION, JOBS, REVENUE, BANK_CREDIT, CREDIT_KIND)
CORE_KEYS = frozenset(q.key for q in CORE_QUESTIONS)


def plugin_questions(slug: str | None) -> list[ClientField]:
    """The questions the institution's plugin adds (hook ``followup_questions``), core keys excluded."""
    from core.plugins import call_contained, state

    institution = state().institution(slug) if slug else None
    found = []
    for result in call_contained("followup_questions", slug, institution=institution):
        found += [q for q in result or [] if isinstance(q, ClientField) and q.key not in CORE_KEYS]
    return found


def questions(slug: str | None) -> list[ClientField]:
    """Every question of the institution ``slug``'s questionnaire, core first."""
    return [*CORE_QUESTIONS, *plugin_questions(slug)]


def version(slug: str | None) -> str:
    """The questionnaire's version: core's, plus a fingerprint of the plugin's question keys."""
    extra = [q.key for q in plugin_questions(slug)]
    if not extra:
        return CORE_VERSION
    return f"{CORE_VERSION}+{hashlib.sha256(','.join(extra).encode()).hexdigest()[:8]}"


def _required(errors: dict, key: str, value, message) -> None:
    if value in (None, NONE):
        errors[key] = message


def parse_answers(raw: Mapping[str, Any], asked: list[ClientField]) -> dict[str, Any]:
    """Typed answers from what was typed (``raw`` by question key), or ``ValidationFailed``.

    Whether the business is active and whether a bank credit was obtained are required; the
    reason and the situation only when it stopped (required then), the kind of credit only
    with a credit, jobs (0 or more, at most 1000) only while active. Plugin questions are optional
    unless their parser refuses the value.
    """
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for question in asked:
        text = raw.get(question.key)
        if question.type == "decimal" and (text is None or not str(text).strip()):
            values[question.key] = None
            continue
        try:
            values[question.key] = question.parse(text if text is not None else NONE)
        except ValueError as exc:
            errors[question.key] = exc.args[0]
    _check_core(values, errors)
    if errors:
        raise ValidationFailed(errors)
    return _typed(values)


def _check_core(values: dict, errors: dict) -> None:
    if "active" not in errors:
        _required(errors, "active", values.get("active"), _l("Say whether the business is still active."))
    if "bank_credit" not in errors:
        _required(errors, "bank_credit", values.get("bank_credit"), _l("Say whether you obtained a bank credit."))
    if values.get("active") == "no":
        for key in ("stopped_reason", "situation"):
            if key not in errors:
                _required(errors, key, values.get(key), _l("Choose one of the options."))
    fte = values.get("jobs_fte")
    if "jobs_fte" not in errors and fte is not None and not (0 <= fte <= MAX_FTE):
        errors["jobs_fte"] = _l("Enter a number of jobs from 0 to 1000, such as 1.5.")
    if values.get("active") == "yes" and fte is None and "jobs_fte" not in errors:
        errors["jobs_fte"] = _l("Enter the jobs created besides yourself (0 if none).")


def _typed(values: dict) -> dict:
    active = values["active"] == "yes"
    credit = values["bank_credit"] == "yes"
    fte = values.get("jobs_fte")
    core = {"active": active,
            "stopped_reason": None if active else values.get("stopped_reason"),
            "situation": None if active else values.get("situation"),
            "jobs_fte": (fte.quantize(Decimal("0.1")) if fte is not None else None) if active else Decimal("0"),
            "revenue_band": values.get("revenue_band") or None,
            "bank_credit": credit,
            "bank_credit_kind": (values.get("bank_credit_kind") or None) if credit else None}
    extra = {key: (str(value) if isinstance(value, Decimal) else value)
             for key, value in values.items() if key not in CORE_KEYS}
    return {**core, "extra": extra}


def as_raw(followup) -> dict[str, Any]:
    """A recorded follow-up's answers as form values (to show or correct them)."""
    def yes_no(value):
        return NONE if value is None else ("yes" if value else "no")

    return {"active": yes_no(followup.active), "stopped_reason": followup.stopped_reason or NONE,
            "situation": followup.situation or NONE,
            "jobs_fte": "" if followup.jobs_fte is None else str(followup.jobs_fte),
            "revenue_band": followup.revenue_band or NONE, "bank_credit": yes_no(followup.bank_credit),
            "bank_credit_kind": followup.bank_credit_kind or NONE, **(followup.extra or {})}
