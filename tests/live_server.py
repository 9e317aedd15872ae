"""A live HTTP server on the test database, for tests where the user's requests really run in
parallel (browser tests, API races). Use the ``live_server`` fixture: ``url`` and ``app``."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server


@dataclass
class LiveServer:
    """The app served on a free local port; ``url`` is its base, ``app`` the Flask app."""

    url: str
    app: object


@pytest.fixture
def live_server(make_app):
    app = make_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with app.app_context():
            yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
