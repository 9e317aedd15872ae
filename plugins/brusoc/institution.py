"""Brusoc's profile (../shared/DOMAIN.md)."""
from core.plugin_api import Institution, Office, Region


class Brusoc(Institution):
    slug = "brusoc"
    names = {"nl": "Brusoc", "fr": "Brusoc", "en": "Brusoc"}
    regions = frozenset({Region.BRUSSELS})
    languages = ("fr", "nl")
    offices = (Office("Bruxelles/Brussel", "1000", head_office=True),)
    website = "https://www.finance.brussels"
    descriptions = {
        "nl": "Publieke dochter van finance&invest.brussels (2001, EFRO-steun); OPEN UP-leningen "
              "voor ondernemers in het Brussels Hoofdstedelijk Gewest.",
        "fr": "Filiale publique de finance&invest.brussels (2001, soutien FEDER) ; prêts OPEN UP "
              "pour les entrepreneurs de la Région de Bruxelles-Capitale.",
        "en": "Public subsidiary of finance&invest.brussels (2001, ERDF-backed); OPEN UP loans for "
              "entrepreneurs in the Brussels-Capital Region.",
    }
