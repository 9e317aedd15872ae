"""A plugin's own message catalogue (issue 15, point 6).

A plugin package may hold ``translations/<language>/LC_MESSAGES/messages.po`` (and the compiled
``messages.mo``), the layout pybabel uses. Core puts every enabled plugin's folder before its own in
Flask-Babel's translation directories, so a plugin's ``_("…")`` / ``_l("…")`` strings and its
templates' ``{{ _("…") }}`` appear in the reader's language; core's catalogue comes last and wins
for core's own strings. ``update_catalogue`` extracts the package's strings and writes the
``.po`` files and ``.mo`` files (``microfin plugins catalogue PATH``); ``untranslated`` is what the
plugin contract and ``microfin plugins check`` refuse.
"""
from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

FOLDER = "translations"
DOMAIN = "messages"
CORE_TRANSLATIONS = Path(__file__).parent / "translations"
#: how the strings of a plugin are found: Python sources and Jinja templates
METHODS = [("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2"), ("**.py", "python")]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def catalogue_folder(package: Path | None) -> Path | None:
    """The package's ``translations/`` folder, when it has one."""
    folder = package / FOLDER if package else None
    return folder if folder and folder.is_dir() else None


def translation_directories(packages: list[Path]) -> str:
    """Flask-Babel's ``BABEL_TRANSLATION_DIRECTORIES``: the plugins' folders, then core's."""
    folders = [str(folder) for folder in map(catalogue_folder, packages) if folder]
    return ";".join([*folders, str(CORE_TRANSLATIONS)])


def extract(package: Path) -> Catalog:
    """Every translatable string of the package's sources and templates."""
    catalog = Catalog(domain=DOMAIN)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(package), METHODS, keywords=KEYWORDS, options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _po_path(package: Path, language: str) -> Path:
    return package / FOLDER / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def update_catalogue(package: Path, languages: list[str]) -> list[Path]:
    """Extract the package's strings into ``messages.pot``, create or update each language's
    ``.po`` (translations kept, new strings empty) and compile every ``.mo``. Returns the ``.po``
    files."""
    template = extract(package)
    (package / FOLDER).mkdir(parents=True, exist_ok=True)
    with (package / FOLDER / f"{DOMAIN}.pot").open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True)
    written = []
    for language in languages:
        path = _po_path(package, language)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            catalog.update(template, no_fuzzy_matching=True)
        else:
            catalog = Catalog(locale=language, domain=DOMAIN)
            for message in template:
                if message.id:
                    catalog.add(message.id, "", message.locations, context=message.context)
        with path.open("wb") as handle:
            write_po(handle, catalog, omit_header=True, sort_output=True)
        written.append(path)
    compile_catalogue(package)
    return written


def fill_catalogue(package: Path, translations: dict[str, dict[str, str]]) -> None:
    """Put ``translations`` (msgid → {language: text}) into the package's ``.po`` files, where the
    entry exists and is still empty, and compile them."""
    for po in sorted((package / FOLDER).glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = po.parent.parent.name
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if message.id and not message.string and language in translations.get(message.id, {}):
                message.string = translations[message.id][language]
        with po.open("wb") as handle:
            write_po(handle, catalog, omit_header=True, sort_output=True)
    compile_catalogue(package)


def compile_catalogue(package: Path) -> list[Path]:
    """Compile each ``.po`` of the package into its ``.mo`` (untranslated entries left out)."""
    compiled = []
    for po in sorted((package / FOLDER).glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        with po.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog)
        compiled.append(po.with_suffix(".mo"))
    return compiled


def untranslated(package: Path, languages: list[str]) -> dict[str, list[str]]:
    """The package's strings without a translation in each language but English (the source
    language), looking in the plugin's catalogue and in core's (core's strings need none)."""
    messages = sorted({message.id for message in extract(package) if isinstance(message.id, str) and message.id})
    missing = {}
    for language in languages:
        if language == "en":
            continue
        known = Translations.load(str(CORE_TRANSLATIONS), [language], DOMAIN)
        if not isinstance(known, Translations):
            known = Translations()
        folder = catalogue_folder(package)
        if folder:
            known.merge(Translations.load(str(folder), [language], DOMAIN))
        catalogue = getattr(known, "_catalog", {})
        absent = [msgid for msgid in messages if not catalogue.get(msgid)]
        if absent:
            missing[language] = absent
    return missing
