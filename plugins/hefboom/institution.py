"""Hefboom's profile, settings, products and referral rules (../shared/DOMAIN.md)."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from core.plugin_api import (Eligibility, Institution, LoanProduct, Office, ReferralFacts,
                             Region, Setting, language_requirement, late_notice_setting, retention_setting, texts)


class Hefboom(Institution):
    slug = "hefboom"
    names = {"nl": "Hefboom", "fr": "Hefboom", "en": "Hefboom"}
    # Flanders is certain; Brussels is *(confirm)* in DOMAIN.md: the ``serves_brussels`` setting.
    regions = frozenset({Region.FLANDERS})
    languages = ("nl",)
    offices = (Office("Brussel (telefonische permanentie)", "1000", head_office=True, kind="phone"),)
    website = "https://www.hefboom.be"
    # The lender on the loan offer. Illustrative values for this shared demo (DOMAIN.md gives none):
    # replace them with the registered name, office and KBO/BCE number before printing real offers.
    legal_name = "Hefboom cv"
    address = "Koningsstraat 136, 1000 Brussel"
    enterprise_number = "0410.653.260"
    descriptions = {
        "nl": "Vzw en coöperatie; het Impulskrediet voor starters in Vlaanderen, met twee jaar gratis "
              "begeleiding door vrijwilligers.",
        "fr": "ASBL et coopérative ; l'Impulskrediet pour les starters en Flandre, avec deux ans "
              "d'accompagnement gratuit par des bénévoles.",
        "en": "Non-profit and cooperative; the Impulskrediet for starters in Flanders, with two "
              "years of free volunteer coaching.",
    }

    # --- rules (DOMAIN.md) -----------------------------------------------------------------

    referral_facts_needed = Institution.referral_facts_needed + ("purpose",)

    def regions_served(self, settings=None) -> frozenset[Region]:
        """Flanders, and Brussels once the ``serves_brussels`` setting says so."""
        extra = {Region.BRUSSELS} if self.setting_values(settings)["serves_brussels"] else set()
        return self.regions | extra

    def settings(self) -> list[Setting]:
        """Whether Hefboom serves Brussels is *(confirm)* in DOMAIN.md: a setting, off by default."""
        return [
            language_requirement(),
            late_notice_setting(),
            retention_setting(),
            Setting("serves_brussels", "bool", texts("Also serves the Brussels-Capital Region",
                                                     "Bedient ook het Brussels Hoofdstedelijk Gewest",
                                                     "Dessert aussi la Région de Bruxelles-Capitale"),
                    default=False),
        ]

    def products(self, settings) -> list[LoanProduct]:
        """The Impulskrediet: up to 25,000 EUR, up to 60 months, 7% fixed, equal monthly
        instalments, investment only, enterprise number before disbursement."""
        return [LoanProduct("impulskrediet", texts("Impulskrediet", "Impulskrediet", "Impulskrediet"),
                            min_amount=Decimal("1"), max_amount=Decimal("25000"), min_term_months=1,
                            max_term_months=60, annual_rate=Decimal("7"), repayment_method="annuity",
                            purposes=frozenset({"investment"}), enterprise_number_before_disbursement=True)]

    def assess_referral(self, referral: ReferralFacts, settings=None) -> Eligibility:
        """Flanders; not in collective debt settlement nor with an undischarged bankruptcy."""
        if referral.collective_debt_settlement:
            return Eligibility.decline("collective_debt_settlement", _l(
                "Applicants in collective debt settlement are not eligible."), "collective_debt_settlement")
        if referral.undischarged_bankruptcy:
            return Eligibility.decline("undischarged_bankruptcy", _l(
                "Applicants with an undischarged bankruptcy are not eligible."), "undischarged_bankruptcy")
        return super().assess_referral(referral, settings)
