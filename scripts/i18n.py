"""Translation chores: extract, update, fill, list missing, compile.

    python scripts/i18n.py update            # extract strings, merge them into nl and fr
    python scripts/i18n.py missing           # list untranslated or fuzzy strings (exit 1 if any)
    python scripts/i18n.py fill FILE.json    # {"msgid": {"nl": "...", "fr": "..."}} into the catalogues
    python scripts/i18n.py compile           # write the .mo files that ship in the package

The .mo files are committed so that a plain ``pip install`` has working translations; a test
checks they match the .po files.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "core" / "translations"
POT = TRANSLATIONS / "messages.pot"
LANGUAGES = ("nl", "fr")


def po_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def load(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def save(catalog, path: Path) -> None:
    with path.open("wb") as handle:
        write_po(handle, catalog, sort_output=True, omit_header=False, no_location=True, width=100)


def extract() -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "--no-location", "--sort-output",
                    "-o", str(POT), "."], cwd=ROOT, check=True, capture_output=True)


def update() -> None:
    extract()
    template = load(POT)
    for language in LANGUAGES:
        catalog = load(po_path(language))
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        save(catalog, po_path(language))


def missing() -> list[tuple[str, str]]:
    found = []
    for language in LANGUAGES:
        for message in load(po_path(language)):
            if message.id and (not message.string or message.fuzzy or
                               (isinstance(message.string, tuple) and not all(message.string))):
                found.append((language, message.id if isinstance(message.id, str) else message.id[0]))
    return found


def fill(source: Path) -> None:
    mapping = json.loads(source.read_text(encoding="utf-8"))
    for language in LANGUAGES:
        catalog = load(po_path(language))
        for msgid, texts in mapping.items():
            message = catalog.get(msgid)
            if message is not None and texts.get(language):
                text = texts[language]  # a list gives the plural forms of an ngettext string
                message.string = tuple(text) if isinstance(text, list) else text
                message.flags.discard("fuzzy")
        save(catalog, po_path(language))


def compile_all() -> None:
    for language in LANGUAGES:
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
