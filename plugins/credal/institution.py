"""Crédal's profile (../shared/DOMAIN.md)."""
from core.plugin_api import Institution, Office, Region


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
    descriptions = {
        "nl": "Burgercoöperatie sinds 1984; professioneel microkrediet en het vrouwenprogramma "
              "\"Affaires de femmes\", met gratis begeleiding en collectieve opleidingen.",
        "fr": "Coopérative citoyenne depuis 1984 ; microcrédit professionnel et programme "
              "« Affaires de femmes », avec accompagnement gratuit et formations collectives.",
        "en": "Citizen-funded cooperative since 1984; professional microcredit and the women's "
              "programme \"Affaires de femmes\", with free coaching and collective training.",
    }
