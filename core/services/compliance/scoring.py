"""Scoring as the evaluators do it.

A clause is *applicable* unless it was answered "not applicable" or it is for larger providers
only and the institution is not one. Only "met" counts as met ("partly" and unanswered do not).
Per section and overall: met ÷ applicable. The award test: every applicable priority clause met
AND at least 80% of applicable clauses met. Shares are exact fractions, never floats.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil

from core.models.compliance import APPLIES_LARGER, MET, NOT_APPLICABLE

AWARD_THRESHOLD = Fraction(80, 100)


@dataclass
class Tally:
    """Met and applicable clause counts of a section or of the whole assessment."""

    met: int = 0
    applicable: int = 0

    @property
    def share(self) -> Fraction | None:
        return Fraction(self.met, self.applicable) if self.applicable else None

    @property
    def percent(self) -> int | None:
        """The share in whole percent, rounded down (79.9% never shows as 80%)."""
        return None if self.share is None else int(self.share * 100)


@dataclass
class SectionScore:
    key: str
    section: object
    tally: Tally = field(default_factory=Tally)


@dataclass
class Score:
    """The scores of one assessment and what is missing for the award."""

    sections: list[SectionScore]
    overall: Tally
    missing_priority: list[str]  # keys of applicable priority clauses not met
    more_needed: int  # further clauses to meet to reach 80%

    @property
    def award(self) -> bool:
        return self.overall.applicable > 0 and not self.missing_priority and self.more_needed == 0


def is_applicable(clause, answer: str | None, larger_provider: bool) -> bool:
    if clause.applies_to == APPLIES_LARGER and not larger_provider:
        return False
    return answer != NOT_APPLICABLE


def score(clauses, answers: dict, larger_provider: bool) -> Score:
    """Score ``clauses`` (catalogue order) given ``answers`` ({clause key: answer or None})."""
    sections: dict[str, SectionScore] = {}
    overall = Tally()
    missing_priority = []
    for clause in clauses:
        section = sections.setdefault(clause.section.key, SectionScore(clause.section.key, clause.section))
        answer = answers.get(clause.key)
        if not is_applicable(clause, answer, larger_provider):
            continue
        met = answer == MET
        for tally in (section.tally, overall):
            tally.applicable += 1
            tally.met += met
        if clause.priority and not met:
            missing_priority.append(clause.key)
    needed = ceil(AWARD_THRESHOLD * overall.applicable)
    return Score(sections=list(sections.values()), overall=overall, missing_priority=missing_priority,
                 more_needed=max(0, needed - overall.met))
