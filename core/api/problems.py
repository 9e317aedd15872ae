"""RFC 9457 problem documents for every error the API answers."""
from __future__ import annotations

from flask import jsonify

PROBLEM_BASE = "https://microfin-crm.be/problems/"
TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 413: "Request body too large", 415: "Unsupported media type",
    422: "Unprocessable request", 429: "Too many requests", 500: "Internal server error",
    503: "Service unavailable",
}


def problem(status: int, kind: str, detail: str | None = None, errors: list[dict] | None = None,
            headers: dict | None = None):
    """A ``application/problem+json`` response."""
    body = {"type": PROBLEM_BASE + kind, "title": TITLES.get(status, "Error"), "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_errors(exc) -> list[dict]:
    """Pydantic errors as ``{"field": "applicant.national_number", "message": …}``."""
    rows = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field; it is not accepted"
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
        rows.append({"field": path, "message": message})
    return rows
