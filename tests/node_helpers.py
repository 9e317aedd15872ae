"""Separate app and worker processes on the test database, as several nodes run in production."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.mail_helpers import free_port

MICROFIN = str(Path(sys.executable).with_name("microfin"))
REDIS_URL = os.environ.get("MICROFIN_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def redis_url() -> str:
    """A Redis database of this test process's own, emptied (skipped without Redis, except in CI)."""
    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    url = f"{REDIS_URL}/{10 + int(worker.removeprefix('gw') or 0) % 6}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    return url


class Node:
    """``microfin serve`` or ``microfin worker`` in a process of its own."""

    def __init__(self, arguments: list[str], env: dict, port: int | None = None):
        self.port = port
        self.process = subprocess.Popen([MICROFIN, *arguments], env={**os.environ, **env},
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the node stopped: {self.process.stderr.read().decode()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the node did not start listening")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def serve(env: dict) -> Node:
    port = free_port()
    node = Node(["serve", "--host", "127.0.0.1", "--port", str(port)], env, port=port)
    node.wait_until_listening()
    return node


def work(env: dict, name: str) -> Node:
    return Node(["worker", "--interval", "0.5", "--name", name], env)
