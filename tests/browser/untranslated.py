"""No English and no raw code left on a Dutch or French page (issue 15, "Done when").

The English texts to look for are the catalogue's own: every message whose translation in the
page's language differs from its English source (so words that read the same, such as "Sector"
in Dutch, are never reported, nor an English text that is also the translation of another
message, such as "Start"). A text on the page (a line, a table cell, an option, a placeholder,
an accessible name; not the literal text of ``<code>`` and the like, such as a file's column
names) that equals one of them was left untranslated; one that looks like a code
(``share_with_mfi``, lower case words joined by underscores) was shown raw.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from babel.messages.mofile import read_mo

ROOT = Path(__file__).resolve().parents[2]
RAW_CODE = re.compile(r"[a-z]+(?:_[a-z]+)+")

PAGE_TEXTS = """() => {
  const literal = "script, style, code, pre, kbd, samp";  // what a person types, shown as such
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(literal) || !parent.getClientRects().length) continue;
    texts.push(...node.textContent.split("\\n"));
  }
  for (const el of document.querySelectorAll("[placeholder], [aria-label], [title], option")) {
    for (const name of ["placeholder", "aria-label", "title"]) {
      if (el.getAttribute(name)) texts.push(el.getAttribute(name));
    }
    if (el.tagName === "OPTION") texts.push(el.textContent);
  }
  return texts.map(t => t.trim()).filter(t => t);
}"""


@cache
def english_texts(language: str) -> frozenset[str]:
    """The English source texts that have a different translation in ``language``."""
    with (ROOT / "core" / "translations" / language / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        catalogue = read_mo(handle)
    found, translations = set(), set()
    for message in catalogue:
        sources = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        targets = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        translations.update(target.strip() for target in targets if target)
        for source in sources:
            if source and "%" not in source and len(source) > 2 and source not in targets and any(targets):
                found.add(source.strip())
    return frozenset(found - translations)  # "Start" is English and also the Dutch for "Home"


def untranslated(page, language: str) -> list[str]:
    """The texts on ``page`` left in English or shown as a raw code."""
    english = english_texts(language)
    return sorted({text for text in page.evaluate(PAGE_TEXTS) if text in english or RAW_CODE.fullmatch(text)})
