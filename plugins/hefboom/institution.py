"""Hefboom's profile (../shared/DOMAIN.md)."""
from core.plugin_api import Institution, Office, Region


class Hefboom(Institution):
    slug = "hefboom"
    names = {"nl": "Hefboom", "fr": "Hefboom", "en": "Hefboom"}
    # Brussels as well is to be confirmed (DOMAIN.md); Flanders is certain.
    regions = frozenset({Region.FLANDERS})
    languages = ("nl",)
    offices = (Office("Brussel (telefonische permanentie)", "1000", head_office=True, kind="phone"),)
    website = "https://www.hefboom.be"
    descriptions = {
        "nl": "Vzw en coöperatie; het Impulskrediet voor starters in Vlaanderen, met twee jaar gratis "
              "begeleiding door vrijwilligers.",
        "fr": "ASBL et coopérative ; l'Impulskrediet pour les starters en Flandre, avec deux ans "
              "d'accompagnement gratuit par des bénévoles.",
        "en": "Non-profit and cooperative; the Impulskrediet for starters in Flanders, with two "
              "years of free volunteer coaching.",
    }
