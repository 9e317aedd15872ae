"""microStart's profile (../shared/DOMAIN.md)."""
from core.plugin_api import Institution, Office, Region


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
    descriptions = {
        "nl": "Coöperatie (kredieten) en vzw (begeleiding), opgericht in 2011 door Adie, BNP Paribas "
              "Fortis en het EIF; microkredieten met gratis begeleiding tot het krediet is afbetaald.",
        "fr": "Coopérative (crédits) et ASBL (accompagnement), fondée en 2011 par l'Adie, BNP Paribas "
              "Fortis et le FEI ; microcrédits avec un accompagnement gratuit jusqu'au remboursement.",
        "en": "Cooperative (lending) and non-profit (coaching), founded in 2011 by Adie, BNP Paribas "
              "Fortis and the EIF; microloans with free coaching until the loan is repaid.",
    }
