"""The yardstick of bench/gunicorn_ratio.py: a bare Flask app on the same gunicorn.

``GET /table`` renders a 50-row table through a Jinja template compiled once; ``POST /echo``
answers its JSON body; ``GET /echo/<id>`` a small JSON object. No database, no session.
"""
from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)

ROWS = [dict(id=n, name=f"Peeters{n}, Sofie", enterprise=f"Atelier Peeters {n}", sector="Horeca",
             stage="Starter", region="Vlaanderen", coach="Coach 1", status="Actief") for n in range(50)]
TABLE = app.jinja_env.from_string(
    "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>Clients</title></head>"
    "<body><main><h1>Clients</h1><table><thead><tr><th>Name</th><th>Enterprise</th><th>Sector</th>"
    "<th>Stage</th><th>Region</th><th>Coach</th><th>Status</th></tr></thead><tbody>"
    "{% for row in rows %}<tr><td><a href=\"/clients/{{ row.id }}\">{{ row.name }}</a></td>"
    "<td>{{ row.enterprise }}</td><td>{{ row.sector }}</td><td>{{ row.stage }}</td>"
    "<td>{{ row.region }}</td><td>{{ row.coach }}</td><td>{{ row.status }}</td></tr>{% endfor %}"
    "</tbody></table></main></body></html>")


@app.get("/table")
def table():
    return TABLE.render(rows=ROWS)


@app.post("/echo")
def echo():
    return jsonify(request.get_json()), 201


@app.get("/echo/<int:item_id>")
def echo_one(item_id: int):
    return jsonify({"id": item_id, "status": "offered"})
