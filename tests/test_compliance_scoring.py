"""Scoring as evaluators do it, checked against cases computed by hand."""
from fractions import Fraction

from core.services.compliance.scoring import score
from tests.compliance_helpers import load

# Ten clauses: 1.1 and 2.1 are priority; 2.5 is for larger providers only.
TEN = [("1.1", "1", True, "all"), ("1.2", "1", False, "all"), ("1.3", "1", False, "all"),
       ("1.4", "1", False, "all"), ("1.5", "1", False, "all"), ("2.1", "2", True, "all"),
       ("2.2", "2", False, "all"), ("2.3", "2", False, "all"), ("2.4", "2", False, "all"),
       ("2.5", "2", False, "larger")]


def _clauses(app):
    return load(TEN).clauses


def test_eight_of_ten_met_with_priorities_met_is_an_award(app):
    # Small provider: 2.5 does not apply -> 9 applicable. 1.2 partly, 2.4 not applicable -> 8
    # applicable, met: 1.1 1.3 1.4 1.5 2.1 2.2 2.3 = 7 -> 7/8 = 87.5% >= 80%, priorities met.
    answers = {"1.1": "met", "1.2": "partly", "1.3": "met", "1.4": "met", "1.5": "met",
               "2.1": "met", "2.2": "met", "2.3": "met", "2.4": "not_applicable", "2.5": "not_met"}
    result = score(_clauses(app), answers, larger_provider=False)
    assert (result.overall.met, result.overall.applicable) == (7, 8)
    assert result.overall.share == Fraction(7, 8) and result.overall.percent == 87
    s1, s2 = result.sections
    assert (s1.tally.met, s1.tally.applicable) == (4, 5)
    assert (s2.tally.met, s2.tally.applicable) == (3, 3)
    assert result.award and result.missing_priority == [] and result.more_needed == 0


def test_larger_provider_counts_larger_clauses(app):
    # Same answers, larger provider: 2.5 applies and is not met -> 7/9 = 77.7% < 80%:
    # ceil(0.8 * 9) = 8 needed, 1 more clause to meet.
    answers = {"1.1": "met", "1.2": "partly", "1.3": "met", "1.4": "met", "1.5": "met",
               "2.1": "met", "2.2": "met", "2.3": "met", "2.4": "not_applicable", "2.5": "not_met"}
    result = score(_clauses(app), answers, larger_provider=True)
    assert (result.overall.met, result.overall.applicable) == (7, 9)
    assert result.overall.percent == 77
    assert not result.award and result.more_needed == 1 and result.missing_priority == []


def test_a_missed_priority_clause_refuses_the_award_even_at_90_percent(app):
    # 9 applicable (small provider), 8 met, but priority 2.1 is only partly met: 88.8% yet no award.
    answers = {k: "met" for k, *_ in TEN}
    answers["2.1"] = "partly"
    result = score(_clauses(app), answers, larger_provider=False)
    assert (result.overall.met, result.overall.applicable) == (8, 9)
    assert not result.award and result.missing_priority == ["2.1"] and result.more_needed == 0


def test_exactly_80_percent_is_enough(app):
    # Larger provider, 10 applicable; 8 met (1.2 and 1.3 not met): 80% exactly -> award.
    answers = {k: "met" for k, *_ in TEN}
    answers.update({"1.2": "not_met", "1.3": "partly"})
    result = score(_clauses(app), answers, larger_provider=True)
    assert (result.overall.met, result.overall.applicable) == (8, 10)
    assert result.overall.share == Fraction(4, 5) and result.award


def test_unanswered_clauses_count_as_applicable_and_not_met(app):
    # Nothing answered, small provider: 0/9; both priorities missing; ceil(7.2) = 8 to meet.
    result = score(_clauses(app), {}, larger_provider=False)
    assert (result.overall.met, result.overall.applicable) == (0, 9)
    assert result.missing_priority == ["1.1", "2.1"] and result.more_needed == 8 and not result.award


def test_everything_not_applicable_is_no_award(app):
    result = score(_clauses(app), {k: "not_applicable" for k, *_ in TEN}, larger_provider=True)
    assert result.overall.applicable == 0 and result.overall.share is None and not result.award
