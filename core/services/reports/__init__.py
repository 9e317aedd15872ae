"""Impact, portfolio and referral-outcome reports, aggregated in SQL (see docs/reports.md)."""
