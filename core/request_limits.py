"""A request body sent without Content-Length (chunked) read up to a limit before anything parses
it: one byte more and the request is refused, never cut at the limit and parsed. Werkzeug limits
such a stream but lets a parser read the first ``limit`` bytes as if they were the whole body."""
from __future__ import annotations

import io

from flask import request


def streamed_body_too_large(limit: int | None) -> bool:
    """Buffer a chunked body of at most ``limit`` bytes (it then has a Content-Length like any
    other); True when it is larger, the caller answers 413."""
    environ = request.environ
    chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"  # Content-Length is then ignored
    if limit is None or not environ.get("wsgi.input_terminated") or environ.get("CONTENT_LENGTH") and not chunked:
        return False
    raw = environ["wsgi.input"].read(limit + 1)
    if len(raw) > limit:
        return True
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
    del environ["wsgi.input_terminated"]
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return False
