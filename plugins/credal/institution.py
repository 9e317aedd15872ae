"""Crédal's profile, settings, products and referral rules (../shared/DOMAIN.md)."""
from decimal import Decimal

from core.plugin_api import (ClientField, Institution, LoanProduct, Office, Region, Setting,
                             language_requirement, late_notice_setting, retention_setting, texts)


class Credal(Institution):
    slug = "credal"
    names = {"nl": "Crédal", "fr": "Crédal", "en": "Crédal"}
    regions = frozenset({Region.WALLONIA, Region.BRUSSELS})
    languages = ("fr",)
    # Brussels office: to confirm with Crédal (DOMAIN.md).
    offices = (
        Office("Louvain-la-Neuve", "1348", head_office=True),
        Office("Namur", "5000"),
        Office("Charleroi", "6000"),
        Office("Bruxelles", "1000"),
    )
    website = "https://www.credal.be"
    # The lender on the loan offer. Illustrative values for this shared demo (DOMAIN.md gives none):
    # replace them with the registered name, office and KBO/BCE number before printing real offers.
    legal_name = "Crédal SC/CV"
    address = "Place de l'Université 16, 1348 Louvain-la-Neuve"
    enterprise_number = "0458.913.334"
    descriptions = {
        "nl": "Burgercoöperatie sinds 1984; professioneel microkrediet en het vrouwenprogramma "
              "\"Affaires de femmes\", met gratis begeleiding en collectieve opleidingen.",
        "fr": "Coopérative citoyenne depuis 1984 ; microcrédit professionnel et programme "
              "« Affaires de femmes », avec accompagnement gratuit et formations collectives.",
        "en": "Citizen-funded cooperative since 1984; professional microcredit and the women's "
              "programme \"Affaires de femmes\", with free coaching and collective training.",
    }

    # --- rules (DOMAIN.md) -----------------------------------------------------------------

    def settings(self) -> list[Setting]:
        """Crédal's rate and term are *(confirm)* in DOMAIN.md, which gives no figure: the
        defaults below are placeholders for Crédal's admin to set."""
        return [
            language_requirement(),
            late_notice_setting(),
            retention_setting(),
            Setting("max_amount", "decimal", texts("Largest loan (EUR)", "Grootste lening (EUR)",
                                                   "Plus grand prêt (EUR)"),
                    default=Decimal("25000"), minimum=Decimal("1")),
            Setting("rate", "decimal", texts("Annual rate (%)", "Jaarlijkse rentevoet (%)", "Taux annuel (%)"),
                    default=Decimal("9.5"), minimum=Decimal("0"), maximum=Decimal("99"),
                    help=texts("To confirm with Crédal.", "Te bevestigen door Crédal.", "À confirmer par Crédal.")),
            Setting("max_term_months", "int", texts("Longest term (months)", "Langste looptijd (maanden)",
                                                    "Durée maximale (mois)"),
                    default=60, minimum=1, maximum=120,
                    help=texts("To confirm with Crédal.", "Te bevestigen door Crédal.", "À confirmer par Crédal.")),
        ]

    def client_fields(self) -> list[ClientField]:
        """The women's programme "Affaires de femmes": a yes/no on the client, and a filter."""
        return [ClientField("affaires_de_femmes", "bool",
                            texts("Women's programme \"Affaires de femmes\"",
                                  "Vrouwenprogramma \"Affaires de femmes\"",
                                  "Programme « Affaires de femmes »"))]

    def products(self, settings) -> list[LoanProduct]:
        """Professional microcredit."""
        s = self.setting_values(settings)
        return [LoanProduct("microcredit_pro", texts("Professional microcredit", "Professioneel microkrediet",
                                                     "Microcrédit professionnel"),
                            min_amount=Decimal("1"), max_amount=s["max_amount"], min_term_months=1,
                            max_term_months=s["max_term_months"], annual_rate=s["rate"])]
