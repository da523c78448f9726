"""Where an outgoing webhook may go (docs/security.md, "Outgoing webhooks"): the public internet only. An
organization's admin chooses the URL, and the API's relay sends from inside the platform, so a loopback, private,
link-local (cloud metadata) or otherwise non-public address would let a tenant make the platform call its own
services — the warehouse's HTTP interface on 127.0.0.1, say — on the tenant's behalf (server-side request forgery).

The URL is checked twice: when it is registered (its host as written: an address or ``localhost``; no DNS, which may
not resolve yet), and before each delivery (every address its name resolves to then). The delivery connects to one
of the addresses so checked (``streams.notify.pinned_http``), never looking the name up again: a name that answers a
public address to the check and a private one later (DNS rebinding) gets no say in where the connection goes.
``METERLINE_WEBHOOK_ALLOW_PRIVATE_TARGETS`` lifts the rule (local development and tests, whose receivers listen on
127.0.0.1)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

Resolve = Callable[[str, int], Iterable[str]]


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone index is no part of the address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _literal(host: str) -> str | None:
    """The address ``host`` is written as, if it is one — also in the shorthand forms the resolver accepts
    (``127.1``, ``2130706433``, ``0x7f000001``)."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except (OSError, ValueError):  # not an address (ValueError: a NUL in it)
        return None


def written_refusal(url: str) -> str | None:
    """Why ``url`` may not be registered as written (None: it may): its host is a non-public address or
    ``localhost``."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this machine, not a public address"
    address = _literal(host)
    if address is not None and _not_public(address):
        return f"{address} is not a public address (loopback, private, link-local or reserved)"
    return None


def resolve_all(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to now (empty when it does not resolve: the connection then fails itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


class Refused(Exception):
    """Nothing may be sent to the URL; the message says why."""


def delivery_addresses(url: str, resolve: Resolve = resolve_all, *, allow_private: bool = False) -> list[str]:
    """The addresses a delivery to ``url`` may connect to: its host's, looked up once now, each public unless
    ``allow_private``. The caller connects to these and to nothing else. Raises ``Refused``."""
    why = None if allow_private else written_refusal(url)
    if why is not None:
        raise Refused(why)
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("the URL's port is not a port number") from None
    addresses = list(dict.fromkeys(resolve(host, port)))
    if not addresses:
        raise Refused(f"{host} does not resolve")
    for address in addresses:
        if not allow_private and _not_public(address):
            raise Refused(f"{host} resolves to {address}, not a public address")
    return addresses
