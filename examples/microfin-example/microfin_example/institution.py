"""The example institution: a (fictional) microlender of the German-speaking Community.

It shows the whole Institution API: profile, settings, a product built from the settings, and
referral rules on top of core's defaults, using core's postal-code helpers.
"""
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from core.plugin_api import (Eligibility, Institution, LoanProduct, Office, ReferralFacts, Region, Setting,
                             is_german_speaking, language_requirement, texts)


class Example(Institution):
    slug = "example"
    names = texts("Example Microcredit East Belgium", "Voorbeeld Microkrediet Oost-België",
                  "Exemple Microcrédit Est de la Belgique")
    regions = frozenset({Region.WALLONIA})
    languages = ("de", "fr")
    offices = (Office("Eupen", "4700", head_office=True), Office("Sankt Vith", "4780", kind="desk"))
    website = "https://example.org"
    descriptions = texts("A fictional microlender of the German-speaking Community, the example plugin.",
                         "Een fictieve microkredietverstrekker van de Duitstalige Gemeenschap.",
                         "Un prêteur fictif de la Communauté germanophone.")

    def settings(self) -> list[Setting]:
        """Figures the institution's admin may change in the app."""
        return [
            Setting("rate", "decimal", texts("Annual rate (%)", "Jaarlijkse rentevoet (%)", "Taux annuel (%)"),
                    default=Decimal("6"), minimum=Decimal("0"), maximum=Decimal("30")),
            Setting("max_amount", "decimal", texts("Largest loan (EUR)", "Grootste lening (EUR)",
                                                   "Plus grand prêt (EUR)"),
                    default=Decimal("15000"), minimum=Decimal("1")),
            language_requirement(),  # off by default: the applicant's language is a preference
        ]

    def products(self, settings) -> list[LoanProduct]:
        values = self.setting_values(settings)
        return [LoanProduct("microloan", texts("Microloan", "Microkrediet", "Microcrédit"),
                            min_amount=Decimal("500"), max_amount=values["max_amount"],
                            min_term_months=6, max_term_months=48, annual_rate=values["rate"])]

    def assess_referral(self, referral: ReferralFacts, settings=None) -> Eligibility:
        """Only the German-speaking Community (4700-4791); core's default rules; and nobody in
        collective debt settlement."""
        if referral.postal_code and referral.region and not is_german_speaking(referral.postal_code):
            return Eligibility.decline("region_not_served",
                                       _l("The institution does not serve this region."), "postal_code")
        if referral.collective_debt_settlement:
            return Eligibility.decline("collective_debt_settlement",
                                       _l("Applicants in collective debt settlement are not eligible."),
                                       "collective_debt_settlement")
        return super().assess_referral(referral, settings)
