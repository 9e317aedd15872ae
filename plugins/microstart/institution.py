"""microStart's profile, settings, products and referral rules (../shared/DOMAIN.md)."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from core.plugin_api import (Eligibility, Institution, LoanProduct, Office, ReferralFacts,
                             Region, Setting, Stage, followup_months_setting, language_requirement,
                             late_notice_setting, retention_setting,
                             prepayment_indemnity_setting, texts)


class MicroStart(Institution):
    slug = "microstart"
    names = {"nl": "microStart", "fr": "microStart", "en": "microStart"}
    regions = frozenset({Region.BRUSSELS, Region.WALLONIA, Region.FLANDERS})
    languages = ("fr", "nl", "en")
    offices = (
        Office("Anderlecht", "1070", head_office=True),
        Office("Brussel/Bruxelles", "1000"),
        Office("Liège", "4000"),
        Office("Gent", "9000"),
        Office("Antwerpen", "2000"),
        Office("Charleroi", "6000"),
        Office("Mons", "7000", kind="desk"),
        Office("La Louvière", "7100", kind="desk"),
    )
    website = "https://microstart.be"
    # The lender on the loan offer. Illustrative values for this shared demo (DOMAIN.md gives none):
    # replace them with the registered name, office and KBO/BCE number before printing real offers.
    legal_name = "microStart SC/CV"
    address = "Rue de Fiennes 77, 1070 Anderlecht"
    enterprise_number = "0836.412.786"
    descriptions = {
        "nl": "Coöperatie (kredieten) en vzw (begeleiding), opgericht in 2011 door Adie, BNP Paribas "
              "Fortis en het EIF; microkredieten met gratis begeleiding tot het krediet is afbetaald.",
        "fr": "Coopérative (crédits) et ASBL (accompagnement), fondée en 2011 par l'Adie, BNP Paribas "
              "Fortis et le FEI ; microcrédits avec un accompagnement gratuit jusqu'au remboursement.",
        "en": "Cooperative (lending) and non-profit (coaching), founded in 2011 by Adie, BNP Paribas "
              "Fortis and the EIF; microloans with free coaching until the loan is repaid.",
    }

    # --- rules (DOMAIN.md) -----------------------------------------------------------------


    def settings(self) -> list[Setting]:
        """microStart's figures; those DOMAIN.md marks *(confirm)* are settings with its defaults."""
        return [
            language_requirement(),
            late_notice_setting(),
            retention_setting(),
            followup_months_setting(),
            Setting("jump_rate", "decimal", texts("Jump: annual rate (%)", "Jump: jaarlijkse rentevoet (%)",
                                                    "Jump : taux annuel (%)"),
                    default=Decimal("12.13"), minimum=Decimal("0"), maximum=Decimal("99")),
            Setting("boost_rate", "decimal", texts("Boost: annual rate (%)", "Boost: jaarlijkse rentevoet (%)",
                                                     "Boost : taux annuel (%)"),
                    default=Decimal("11.13"), minimum=Decimal("0"), maximum=Decimal("99")),
            Setting("min_amount", "decimal", texts("Smallest loan (EUR)", "Kleinste lening (EUR)",
                                                     "Plus petit prêt (EUR)"),
                    default=Decimal("500"), minimum=Decimal("1")),
            Setting("max_amount", "decimal", texts("Largest loan (EUR)", "Grootste lening (EUR)",
                                                     "Plus grand prêt (EUR)"),
                    default=Decimal("25000"), minimum=Decimal("1")),
            Setting("young_business_max_amount", "decimal",
                    texts("Largest loan to a business under a year old (EUR)",
                            "Grootste lening aan een zaak jonger dan een jaar (EUR)",
                            "Plus grand prêt à une entreprise de moins d'un an (EUR)"),
                    default=Decimal("15000"), minimum=Decimal("1")),
            Setting("max_term_months", "int", texts("Longest term (months)", "Langste looptijd (maanden)",
                                                      "Durée maximale (mois)"),
                    default=48, minimum=1, maximum=120),
            Setting("guarantor_required", "bool", texts("A guarantor is required", "Een borg is vereist",
                                                          "Un garant est exigé"), default=True),
            Setting("honour_loan_divisor", "int",
                    texts("Honour loan: at most 1/N; N =", "Erelening: hoogstens 1/N; N =",
                            "Prêt d'honneur : au plus 1/N ; N ="),
                    default=3, minimum=1, maximum=10),
            Setting("honour_loan_base", "choice",
                    texts("Honour loan: a share of", "Erelening: een deel van", "Prêt d'honneur : une part de"),
                    choices=("microloan", "total"),
                    choice_labels={"microloan": texts("the microloan", "het microkrediet", "du microcrédit"),
                                   "total": texts("the total financing", "de totale financiering",
                                                    "du financement total")},
                    default="microloan"),
            Setting("honour_loan_max_deferral_months", "int",
                    texts("Honour loan: longest repayment holiday (months)",
                            "Erelening: langste aflossingsvrije periode (maanden)",
                            "Prêt d'honneur : différé maximal (mois)"),
                    default=24, minimum=0, maximum=60),
            prepayment_indemnity_setting(),
        ]

    def products(self, settings) -> list[LoanProduct]:
        """Jump (starters, businesses under a year) and Boost (businesses over a year)."""
        s = self.setting_values(settings)
        common = dict(min_amount=s["min_amount"], max_amount=s["max_amount"], min_term_months=3,
                      max_term_months=s["max_term_months"], repayment_method="annuity",
                      large_amount_threshold=s["young_business_max_amount"], large_amount_min_age_months=12,
                      guarantor_required=s["guarantor_required"], honour_loan_allowed=True,
                      honour_loan_cap=_honour_cap(s["honour_loan_divisor"], s["honour_loan_base"]),
                      honour_loan_max_deferral_months=s["honour_loan_max_deferral_months"],
                      prepayment_indemnity_months=s["prepayment_indemnity_months"])
        return [
            LoanProduct("jump", texts("Jump", "Jump", "Jump"), annual_rate=s["jump_rate"],
                        stages=frozenset({Stage.PROJECT, Stage.STARTER}), max_enterprise_age_months=12,
                        **common),
            LoanProduct("boost", texts("Boost", "Boost", "Boost"), annual_rate=s["boost_rate"],
                        stages=frozenset({Stage.ESTABLISHED}), min_enterprise_age_months=12, **common),
        ]

    def assess_referral(self, referral: ReferralFacts, settings=None) -> Eligibility:
        """Anyone in Belgium, except applicants in collective debt settlement."""
        if referral.collective_debt_settlement:
            return Eligibility.decline("collective_debt_settlement", _l(
                "Applicants in collective debt settlement are not eligible."), "collective_debt_settlement")
        return super().assess_referral(referral, settings)


def _honour_cap(divisor: int, base: str) -> Decimal:
    """The honour loan's cap as a fraction of the microloan: h <= m/N, or h <= (m + h)/N."""
    if base == "total":
        return Decimal(1) / Decimal(divisor - 1) if divisor > 1 else Decimal(1)
    return Decimal(1) / Decimal(divisor)
