"""Brusoc's profile, settings, products and referral rules (../shared/DOMAIN.md)."""
from decimal import Decimal

from core.plugin_api import (Institution, LoanProduct, Office, Region, Setting,
                             language_requirement, late_notice_setting, retention_setting, texts)


class Brusoc(Institution):
    slug = "brusoc"
    names = {"nl": "Brusoc", "fr": "Brusoc", "en": "Brusoc"}
    regions = frozenset({Region.BRUSSELS})
    languages = ("fr", "nl")
    offices = (Office("Bruxelles/Brussel", "1000", head_office=True),)
    website = "https://www.finance.brussels"
    # The lender on the loan offer. Illustrative values for this shared demo (DOMAIN.md gives none):
    # replace them with the registered name, office and KBO/BCE number before printing real offers.
    legal_name = "Brusoc SA/NV"
    address = "Rue de Stassart 32, 1050 Ixelles"
    enterprise_number = "0812.547.422"
    descriptions = {
        "nl": "Publieke dochter van finance&invest.brussels (2001, EFRO-steun); OPEN UP-leningen "
              "voor ondernemers in het Brussels Hoofdstedelijk Gewest.",
        "fr": "Filiale publique de finance&invest.brussels (2001, soutien FEDER) ; prêts OPEN UP "
              "pour les entrepreneurs de la Région de Bruxelles-Capitale.",
        "en": "Public subsidiary of finance&invest.brussels (2001, ERDF-backed); OPEN UP loans for "
              "entrepreneurs in the Brussels-Capital Region.",
    }

    # --- rules (DOMAIN.md) -----------------------------------------------------------------

    def settings(self) -> list[Setting]:
        """OPEN UP's ceiling is 25,000 or 30,000 EUR *(confirm)*: a setting."""
        return [
            language_requirement(),
            late_notice_setting(),
            retention_setting(),
            Setting("max_amount", "decimal", texts("OPEN UP: largest loan (EUR)", "OPEN UP: grootste lening (EUR)",
                                                   "OPEN UP : plus grand prêt (EUR)"),
                    default=Decimal("25000"), minimum=Decimal("1")),
        ]

    def products(self, settings) -> list[LoanProduct]:
        """OPEN UP: 4%, 12 to 60 months, own contribution of at least 3%, no guarantees."""
        s = self.setting_values(settings)
        return [LoanProduct("open_up", texts("OPEN UP", "OPEN UP", "OPEN UP"), min_amount=Decimal("1"),
                            max_amount=s["max_amount"], min_term_months=12, max_term_months=60,
                            annual_rate=Decimal("4"), own_contribution_min_share=Decimal("0.03"),
                            guarantees_allowed=False, guarantor_required=False)]
