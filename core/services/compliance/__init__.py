"""Code-of-conduct compliance: catalogues, self-assessments, scoring, evidence, reports.

- ``catalogue``: YAML import (validated, all or nothing) and export of versioned catalogues;
- ``scoring``: shares of applicable clauses met and the award test;
- ``assessments``: answers, the review workflow, comments, history, comparison, due dates;
- ``evidence``: automatic evidence from providers, uploaded files;
- ``reports``: the assessment as PDF and CSV.
"""
