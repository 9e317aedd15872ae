"""The OpenAPI 3.1 document, generated from the pydantic models that validate the requests."""
from __future__ import annotations

from pydantic.json_schema import models_json_schema

from core.api import schemas

REF = "#/components/schemas/{model}"


def _problem(description: str) -> dict:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}}


def _json(model: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}}}


def document(version: str) -> dict:
    """The whole API description, as served at ``/api/v1/openapi.json``."""
    _, top = models_json_schema(
        [(m, "validation") for m in (schemas.ReferralIn,)]
        + [(m, "serialization") for m in (schemas.ReferralOut, schemas.ReferralPage, schemas.Problem)],
        ref_template=REF)
    common = {"401": _problem("No token, or a revoked, expired or unknown one (an expired one: type token-expired)."),
              "429": _problem("Too many requests: wait as the Retry-After header says.")}
    referral_id = {"name": "referral_id", "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Microfin CRM referral API", "version": version,
                 "description": "Banks and public financiers hand refused entrepreneurs over to Belgium's "
                                "microfinance institutions, with consent, and follow what becomes of them."},
        "servers": [{"url": "/api/v1"}],
        "components": {"schemas": top["$defs"],
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/referrals": {
                "post": {
                    "operationId": "createReferral", "summary": "Refer an applicant",
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True,
                                    "schema": {"type": "string", "minLength": 1, "maxLength": 200}}],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": REF.format(model="ReferralIn")}}}},
                    "responses": {"201": _json("ReferralOut", "Stored; offered, linked or closed as no match."),
                                  "400": _problem("Malformed JSON or missing Idempotency-Key."),
                                  "413": _problem("Body larger than 64 KiB."),
                                  "415": _problem("Content-Type is not application/json."),
                                  "422": _problem("Invalid body (each bad field named) or key reused."),
                                  **common},
                },
                "get": {
                    "operationId": "listReferrals", "summary": "Your referrals changed since a moment",
                    "parameters": [
                        {"name": "updated_since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
                    "responses": {"200": _json("ReferralPage", "A page, oldest change first."),
                                  "422": _problem("A bad parameter."), **common},
                },
            },
            "/referrals/{referral_id}": {
                "get": {"operationId": "getReferral", "summary": "One of your referrals",
                        "parameters": [referral_id],
                        "responses": {"200": _json("ReferralOut", "The referral."),
                                      "404": _problem("Not yours, or no such referral."), **common}},
            },
            "/referrals/{referral_id}/withdraw": {
                "post": {"operationId": "withdrawReferral", "summary": "The applicant withdrew consent",
                         "parameters": [referral_id],
                         "responses": {"200": _json("ReferralOut", "Withdrawn; personal data erased."),
                                       "404": _problem("Not yours, or no such referral."), **common}},
            },
        },
    }
