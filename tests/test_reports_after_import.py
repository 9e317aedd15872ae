"""The impact report after a portfolio import equals figures worked out by hand (issue 8)."""
import csv
import json

from core.cli import main
from core.services.portfolio_import import COLUMNS

PEOPLE = {
    "C1": dict(first_name="Amina", last_name="El Amrani", birth_date="1998-05-01", gender="F",
               country_of_birth="MA", education="lower_secondary", employment_status="job_seeker",
               disability="no", postal_code="1000", language="fr"),
    "C2": dict(first_name="Jan", last_name="Peeters", birth_date="1970-01-01", gender="M",
               country_of_birth="BE", education="higher", employment_status="employed",
               disability="no", postal_code="9000", language="nl"),
    "C3": dict(first_name="Sofia", last_name="Dubois", birth_date="1990-02-02", gender="F",
               country_of_birth="BE", education="primary", employment_status="inactive",
               disability="yes", postal_code="4000", language="fr"),
}
LOANS = [  # client, sector, ref, product, principal, honour, rate, term, disbursed, status, enterprise
    ("C1", "horeca", "L1", "jump", "10000.00", "3000.00", "12.13", "36", "2024-03-01", "active", ""),
    ("C2", "retail", "L2", "boost", "20000.00", "0", "11.13", "48", "2023-06-01", "repaid", "0403170701"),
    ("C3", "services", "L3", "jump", "5000.00", "0", "12.13", "24", "2022-01-15", "written_off", ""),
    ("C1", "horeca", "L4", "jump", "2000.00", "0", "12.13", "12", "2025-01-10", "active", ""),
]


def _file(path):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for client, sector, ref, product, principal, honour, rate, term, on, status, number in LOANS:
            writer.writerow({"client_ref": client, **PEOPLE[client], "enterprise_number": number,
                             "sector": sector, "loan_ref": ref, "product": product, "principal": principal,
                             "honour_loan": honour, "annual_rate": rate, "term_months": term,
                             "disbursed_on": on, "status": status})
    return path


def _cell(persons, amount):
    return {"persons": persons, "amount": amount}


def test_impact_report_after_import_matches_the_hand_count(app, runner, tmp_path):
    imported = runner.invoke(main, ["import", "portfolio", str(_file(tmp_path / "p.csv")),
                                    "--institution", "microstart"])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(main, ["report", "impact", "--institution", "microstart", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    none = _cell(0, "0.00")
    # Amina: 10,000 + 3,000 honour + 2,000, aged 25 and 26 at disbursement, born in Morocco,
    # lower secondary, job seeker, horeca, Brussels. Jan: 20,000, retail, Flanders.
    # Sofia: 5,000 (written off later: still financed), primary, disability, services, Liège.
    assert report["financed"] == _cell(3, "40000.00")
    assert report["target_groups"] == {
        "women": _cell(2, "20000.00"), "born_abroad": _cell(1, "15000.00"), "young": _cell(1, "15000.00"),
        "low_educated": _cell(2, "20000.00"), "job_seekers": _cell(1, "15000.00"),
        "disability": _cell(1, "5000.00")}
    assert report["sectors"] == {"horeca": _cell(1, "15000.00"), "retail": _cell(1, "20000.00"),
                                 "services": _cell(1, "5000.00"), "care": none, "transport": none,
                                 "construction": none, "other": none}
    assert report["regions"] == {"brussels": _cell(1, "15000.00"), "wallonia": _cell(1, "5000.00"),
                                 "flanders": _cell(1, "20000.00")}
