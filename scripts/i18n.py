"""Translation chores: extract, update, fill, list missing, compile.

    python scripts/i18n.py update            # extract strings, merge them into nl and fr (and de)
    python scripts/i18n.py missing           # list untranslated or fuzzy strings (exit 1 if any)
    python scripts/i18n.py fill FILE.json    # {"msgid": {"nl": "...", "fr": "...", "de": "..."}} into the catalogues
    python scripts/i18n.py compile           # write the .mo files that ship in the package

German is a partial language: its catalogue holds only the strings of the public self-referral
pages, the advisers' guide (/financing) and their mail (``PARTIAL``), the rest of the app is never shown in German.

The .mo files are committed so that a plain ``pip install`` has working translations; a test
checks they match the .po files.
"""
from __future__ import annotations

import glob
import json
import subprocess
import tempfile
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "core" / "translations"
POT = TRANSLATIONS / "messages.pot"
LANGUAGES = ("nl", "fr")
#: Languages translated only on some pages: their catalogue holds the strings of these files only.
PARTIAL = {"de": ("core/web/self_referral.py", "core/web/forms_refer.py", "core/services/self_referrals.py",
                  "core/services/referral_forms.py",
                  "core/labels.py", "core/services/amounts.py", "core/templates/refer/*.html",
                  "core/templates/mail/self_referral_confirm.*", "core/templates/mail/_footer.txt",
                  "core/templates/mail/_layout.html", "core/web/financing.py",
                  "core/templates/financing/*.html")}


def po_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def load(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def save(catalog, path: Path) -> None:
    with path.open("wb") as handle:
        write_po(handle, catalog, sort_output=True, omit_header=False, no_location=True, width=100)


def extract(output: Path = POT, paths: tuple[str, ...] = (".",)) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2", "-k", "counted:1,2", "--no-location", "--sort-output",
                    "-o", str(output), *paths], cwd=ROOT, check=True, capture_output=True)


def partial_files(language: str) -> tuple[str, ...]:
    """The files whose strings a partial language's catalogue holds (relative to the root)."""
    return tuple(sorted({name for pattern in PARTIAL[language] for name in glob.glob(pattern, root_dir=ROOT)}))


def partial_template(language: str, directory: Path):
    """The template (POT) of a partial language's strings, extracted into ``directory``."""
    pot = directory / f"{language}.pot"
    extract(pot, partial_files(language))
    return load(pot)


def all_languages() -> tuple[str, ...]:
    return (*LANGUAGES, *PARTIAL)


def _merge(template, language: str) -> None:
    path = po_path(language)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        save(Catalog(locale=language, project="microfin-crm"), path)
    catalog = load(path)
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    save(catalog, path)


def update() -> None:
    extract()
    template = load(POT)
    for language in LANGUAGES:
        _merge(template, language)
    with tempfile.TemporaryDirectory() as directory:
        for language in PARTIAL:
            _merge(partial_template(language, Path(directory)), language)


def missing() -> list[tuple[str, str]]:
    found = []
    for language in all_languages():
        for message in load(po_path(language)):
            if message.id and (not message.string or message.fuzzy or
                               (isinstance(message.string, tuple) and not all(message.string))):
                found.append((language, message.id if isinstance(message.id, str) else message.id[0]))
    return found


def fill(source: Path) -> None:
    mapping = json.loads(source.read_text(encoding="utf-8"))
    for language in all_languages():
        catalog = load(po_path(language))
        for msgid, texts in mapping.items():
            message = catalog.get(msgid)
            if message is not None and texts.get(language):
                text = texts[language]  # a list gives the plural forms of an ngettext string
                message.string = tuple(text) if isinstance(text, list) else text
                message.flags.discard("fuzzy")
        save(catalog, po_path(language))


def compile_all() -> None:
    for language in all_languages():
        catalog = load(po_path(language))
        with po_path(language).with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command == "update":
        update()
    elif command == "missing":
        rows = missing()
        for language, msgid in rows:
            print(f"{language}: {msgid}")
        return 1 if rows else 0
    elif command == "fill":
        fill(Path(argv[1]))
    elif command == "compile":
        compile_all()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
