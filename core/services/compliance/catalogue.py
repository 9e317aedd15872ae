"""Catalogues of the code of conduct: YAML import (validated, line-numbered, all or nothing) and export.

The file format (``core/compliance_catalogues/eu-code-2021-summary.yaml`` is an example)::

    code: eu-code
    version: "2021-summary-1"
    title: {en: ..., nl: ..., fr: ...}
    notice: {en: ..., nl: ..., fr: ...}          # optional
    sections:
      - id: "1"
        title: {en: ..., nl: ..., fr: ...}
    clauses:
      - id: "1.1"
        section: "1"
        priority: true                          # optional, default false
        applies_to: all                         # or "larger"; optional, default all
        text: {en: ..., nl: ..., fr: ...}
        guidance: {en: ..., nl: ..., fr: ...}   # optional
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import func, select

from core.extensions import db
from core.models.compliance import (
    APPLIES_ALL,
    APPLIES_TO,
    Answer,
    Catalogue,
    CatalogueSection,
    Clause,
)
from core.models.types import utcnow

LANGUAGES = ("en", "nl", "fr")
STARTER = Path(__file__).resolve().parent.parent.parent / "compliance_catalogues" / "eu-code-2021-summary.yaml"

TOP_KEYS = {"code", "version", "title", "notice", "sections", "clauses"}
SECTION_KEYS = {"id", "title"}
CLAUSE_KEYS = {"id", "section", "priority", "applies_to", "text", "guidance"}


class CatalogueError(Exception):
    """A catalogue file was refused; ``problems`` are "line N: what is wrong" strings."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class _Parsed:
    code: str = ""
    version: str = ""
    titles: dict = field(default_factory=dict)
    notices: dict = field(default_factory=dict)
    sections: list[dict] = field(default_factory=list)
    clauses: list[dict] = field(default_factory=list)


class _Reader:
    """Walks the YAML node tree, collecting every problem with its line number."""

    def __init__(self):
        self.problems: list[str] = []

    def fail(self, node, message: str) -> None:
        self.problems.append(f"line {node.start_mark.line + 1}: {message}")

    def mapping(self, node, what: str, allowed: set[str]) -> dict | None:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping")
            return None
        result = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key not in allowed:
                self.fail(key_node, f"unknown key {key!r} in {what}")
            elif key in result:
                self.fail(key_node, f"key {key!r} appears twice in {what}")
            else:
                result[key] = value_node
        return result

    def text(self, node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            self.fail(node, f"{what} must be a non-empty text")
            return None
        return str(node.value).strip()

    def translations(self, node, what: str) -> dict:
        mapping = self.mapping(node, what, set(LANGUAGES))
        if mapping is None:
            return {}
        texts = {}
        for language in LANGUAGES:
            if language not in mapping:
                self.fail(node, f"{what} has no {language} translation")
                continue
            value = self.text(mapping[language], f"{what} ({language})")
            if value:
                texts[language] = value
        return texts

    def boolean(self, node, what: str) -> bool:
        if isinstance(node, yaml.ScalarNode) and node.value in ("true", "false"):
            return node.value == "true"
        self.fail(node, f"{what} must be true or false")
        return False

    def sequence(self, node, what: str) -> list:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what} must be a list")
            return []
        return node.value


def _identified(reader: _Reader, node, kind: str, keys, required: tuple[str, ...], seen: dict):
    """The fields of a section or clause mapping and its id, each missing key and any duplicate id
    reported with its line; None when there is no id to go on."""
    fields = reader.mapping(node, f"a {kind}", keys)
    if fields is None:
        return None
    for name in required:
        if name not in fields:
            reader.fail(node, f"{kind} without {name}")
    if "id" not in fields:
        return None
    key = reader.text(fields["id"], f"{kind} id")
    if key and key in seen:
        reader.fail(fields["id"], f"duplicate {kind} id {key!r} (first on line {seen[key]})")
    elif key:
        seen[key] = fields["id"].start_mark.line + 1
    return fields, key


def _read_section(reader: _Reader, node, seen: dict) -> dict | None:
    found = _identified(reader, node, "section", SECTION_KEYS, ("id", "title"), seen)
    if found is None:
        return None
    fields, key = found
    titles = reader.translations(fields["title"], f"title of section {key}") if "title" in fields else {}
    return {"key": key, "titles": titles}


def _read_clause(reader: _Reader, node, sections: set[str], seen: dict) -> dict | None:
    found = _identified(reader, node, "clause", CLAUSE_KEYS, ("id", "section", "text"), seen)
    if found is None:
        return None
    fields, key = found
    section = reader.text(fields["section"], f"section of clause {key}") if "section" in fields else None
    if section and section not in sections:
        reader.fail(fields["section"], f"clause {key} names unknown section {section!r}")
    applies_to = APPLIES_ALL
    if "applies_to" in fields:
        applies_to = reader.text(fields["applies_to"], f"applies_to of clause {key}") or APPLIES_ALL
        if applies_to not in APPLIES_TO:
            reader.fail(fields["applies_to"], f"applies_to of clause {key} must be all or larger")
    return {
        "key": key, "section": section, "applies_to": applies_to,
        "priority": reader.boolean(fields["priority"], f"priority of clause {key}") if "priority" in fields else False,
        "texts": reader.translations(fields["text"], f"text of clause {key}") if "text" in fields else {},
        "guidance": reader.translations(fields["guidance"], f"guidance of clause {key}") if "guidance" in fields else {},
    }


def parse(source: str) -> _Parsed:
    """Check a catalogue file completely; raise ``CatalogueError`` listing every problem."""
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise CatalogueError([f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"]) from exc
    if root is None:
        raise CatalogueError(["line 1: the file is empty"])
    reader = _Reader()
    top = reader.mapping(root, "the catalogue", TOP_KEYS)
    if top is None:
        raise CatalogueError(reader.problems)
    for required in ("code", "version", "title", "sections", "clauses"):
        if required not in top:
            reader.fail(root, f"the catalogue has no {required}")
    parsed = _Parsed()
    parsed.code = reader.text(top["code"], "code") or "" if "code" in top else ""
    parsed.version = reader.text(top["version"], "version") or "" if "version" in top else ""
    if "title" in top:
        parsed.titles = reader.translations(top["title"], "title")
    if "notice" in top:
        parsed.notices = reader.translations(top["notice"], "notice")
    section_lines: dict = {}
    for node in reader.sequence(top["sections"], "sections") if "sections" in top else []:
        section = _read_section(reader, node, section_lines)
        if section:
            parsed.sections.append(section)
    clause_lines: dict = {}
    for node in reader.sequence(top["clauses"], "clauses") if "clauses" in top else []:
        clause = _read_clause(reader, node, set(section_lines), clause_lines)
        if clause:
            parsed.clauses.append(clause)
    if "clauses" in top and not clause_lines:
        reader.fail(top["clauses"], "the catalogue has no clauses")
    if reader.problems:
        raise CatalogueError(reader.problems)
    return parsed


def _clauses_in_use(catalogue: Catalogue) -> set[str]:
    from core.tenancy import all_institutions

    with all_institutions("a catalogue update checks which clauses assessments answered"):
        rows = db.session.scalars(
            select(Clause.key).join(Answer, Answer.clause_id == Clause.id)
            .where(Clause.catalogue_id == catalogue.id).distinct())
        return set(rows)


def _apply(catalogue: Catalogue, parsed: _Parsed) -> None:
    catalogue.titles, catalogue.notices, catalogue.imported_at = parsed.titles, parsed.notices, utcnow()
    sections = {s.key: s for s in catalogue.sections}
    for position, data in enumerate(parsed.sections):
        section = sections.get(data["key"])
        if section is None:
            section = CatalogueSection(key=data["key"])
            catalogue.sections.append(section)
        section.titles, section.position = data["titles"], position
        sections[data["key"]] = section
    wanted = {s["key"] for s in parsed.sections}
    clauses = {c.key: c for c in catalogue.clauses}
    for position, data in enumerate(parsed.clauses):
        clause = clauses.get(data["key"])
        if clause is None:
            clause = Clause(key=data["key"])
            catalogue.clauses.append(clause)
        clause.section = sections[data["section"]]
        clause.texts, clause.guidance = data["texts"], data["guidance"]
        clause.priority, clause.applies_to, clause.position = data["priority"], data["applies_to"], position
    keep = {c["key"] for c in parsed.clauses}
    for clause in [c for c in catalogue.clauses if c.key not in keep]:
        catalogue.clauses.remove(clause)
    db.session.flush()
    for section in [s for s in catalogue.sections if s.key not in wanted]:
        catalogue.sections.remove(section)


def import_catalogue(source: str) -> Catalogue:
    """Load a catalogue from YAML text, or update the one with the same code and version.

    Everything is checked before anything is written; an update may change texts and flags
    and add clauses, but never remove a clause some assessment has answered. One transaction.
    """
    parsed = parse(source)
    catalogue = db.session.scalar(select(Catalogue).where(Catalogue.code == parsed.code,
                                                          Catalogue.version == parsed.version))
    if catalogue is not None:
        removed = _clauses_in_use(catalogue) - {c["key"] for c in parsed.clauses}
        if removed:
            raise CatalogueError([f"clauses {', '.join(sorted(removed))} are answered in assessments "
                                  f"of {parsed.code} {parsed.version}: publish a new version instead"])
    else:
        catalogue = Catalogue(code=parsed.code, version=parsed.version)
        db.session.add(catalogue)
    try:
        _apply(catalogue, parsed)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return catalogue


def import_file(path: Path | str) -> Catalogue:
    """``import_catalogue`` on a file's content."""
    return import_catalogue(Path(path).read_text(encoding="utf-8"))


def load_starter() -> Catalogue:
    """Load (or refresh) the starter catalogue shipped with the package."""
    return import_file(STARTER)


def find(code: str, version: str) -> Catalogue | None:
    return db.session.scalar(select(Catalogue).where(Catalogue.code == code, Catalogue.version == version))


def catalogues() -> list[Catalogue]:
    """Every loaded catalogue, newest import first."""
    return list(db.session.scalars(select(Catalogue).order_by(Catalogue.imported_at.desc(), Catalogue.id.desc())))


def clause_count(catalogue: Catalogue) -> int:
    return db.session.scalar(select(func.count()).select_from(Clause).where(Clause.catalogue_id == catalogue.id))


def _translations(texts: dict) -> dict:
    return {language: texts[language] for language in LANGUAGES if language in texts}


def export_catalogue(catalogue: Catalogue) -> str:
    """The catalogue as YAML in the import format (round-trips through ``import_catalogue``)."""
    data = {"code": catalogue.code, "version": catalogue.version,
            "title": _translations(catalogue.titles)}
    if catalogue.notices:
        data["notice"] = _translations(catalogue.notices)
    data["sections"] = [{"id": s.key, "title": _translations(s.titles)} for s in catalogue.sections]
    data["clauses"] = []
    for clause in catalogue.clauses:
        entry = {"id": clause.key, "section": clause.section.key, "priority": clause.priority,
                 "applies_to": clause.applies_to, "text": _translations(clause.texts)}
        if clause.guidance:
            entry["guidance"] = _translations(clause.guidance)
        data["clauses"].append(entry)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
