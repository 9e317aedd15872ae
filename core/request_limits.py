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


# -- where the rate limits are counted by default ----------------------------------------------

#: the scheme of ``ProcessMemoryStorage``; ``memory://`` in the settings is counted there
PROCESS_MEMORY_SCHEME = "microfin-memory"


def _process_memory_storage():
    import time

    from limits.storage import MemoryStorage

    class ProcessMemoryStorage(MemoryStorage):
        """limits' memory storage (each process counts on its own) without its clean-up thread per
        request: it starts a ``threading.Timer`` whenever the last one has finished, which under
        load is one new thread per API request (a quarter of a referral GET's time). A counter
        past its window is already dropped when it is next read (``MemoryStorage.get``); the
        sweep of the others runs here, in the request, at most once a second."""

        STORAGE_SCHEME = [PROCESS_MEMORY_SCHEME]
        SWEEP_SECONDS = 1.0

        def _MemoryStorage__schedule_expiry(self) -> None:  # the private hook of every write
            now = time.monotonic()
            if now >= getattr(self, "_next_sweep", 0.0):
                self._next_sweep = now + self.SWEEP_SECONDS
                self._MemoryStorage__expire_events()

    return ProcessMemoryStorage


ProcessMemoryStorage = _process_memory_storage()  # registered with limits under its scheme


def storage_uri(configured: str) -> str:
    """The limits storage for ``MICROFIN_RATELIMIT_STORAGE``: ``memory://`` counts in
    ``ProcessMemoryStorage``, anything else (``redis://…``) as given."""
    return f"{PROCESS_MEMORY_SCHEME}://" if configured.startswith("memory://") else configured


def counted_in_process(configured: str) -> bool:
    """Whether the limits are counted per process (not shared through Redis)."""
    return configured.startswith(("memory://", f"{PROCESS_MEMORY_SCHEME}://"))
