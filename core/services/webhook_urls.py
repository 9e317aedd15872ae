"""Which webhook URLs the application may call (issue 13, point 8).

A URL is parsed, never prefix-matched: ``http://127.0.0.1.evil.example/`` is a public host named
``127.0.0.1.evil.example`` and needs https like any other. Private, loopback, link-local and other
non-public addresses are refused unless the operator allows them (``MICROFIN_WEBHOOK_ALLOW_PRIVATE=1``,
for a bank's endpoint inside the same network, and the tests' local receiver). The check runs when
the URL is set and again, on the resolved addresses, before each delivery (a name may later resolve
to an internal address).
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l

LOCAL_NAMES = ("localhost", "localhost.localdomain")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def private_allowed() -> bool:
    """The operator's ``MICROFIN_WEBHOOK_ALLOW_PRIVATE`` setting (off by default)."""
    return bool(current_app.config.get("MICROFIN_WEBHOOK_ALLOW_PRIVATE"))


def _is_public(address: str) -> bool:
    return ipaddress.ip_address(address).is_global


def _literal_address(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _is_local_name(host: str) -> bool:
    return host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES)


def problem(url: str, *, allow_private: bool):
    """The reason ``url`` may not be a webhook (a translatable message), or None when it may."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        return _l("This is not a valid URL.")
    if parts.scheme not in ("https", "http") or not host:
        return _l("A webhook must be an https:// URL with a host name.")
    if parts.username is not None or parts.password is not None:
        return _l("A webhook URL may not contain a user name or password.")
    literal = _literal_address(host)
    private = _is_local_name(host) or (literal is not None and not _is_public(literal))
    if private and not allow_private:
        return _l("This address is private or local; the operator has not allowed private webhook addresses.")
    if parts.scheme == "http" and not private:
        return _l("A webhook must use https:// (http only for an allowed local address).")
    return None


def resolved_problem(url: str, *, allow_private: bool) -> str | None:
    """Before a delivery: a reason to refuse when the host now resolves to a non-public address."""
    if allow_private:
        return None
    host = (urlsplit(url).hostname or "").rstrip(".")
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"[:400]
    private = sorted({info[4][0] for info in infos if not _is_public(info[4][0])})
    if private:
        return f"{host} resolves to a non-public address ({', '.join(private)}); refused"
    return None
