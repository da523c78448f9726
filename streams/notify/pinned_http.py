"""An HTTP POST that connects only to addresses given to it (docs/security.md, "Outgoing webhooks").

A webhook's host is resolved once and every address checked (``streams.notify.targets``); the connection then
goes to one of those addresses, never to the answer of a second lookup, which a name's owner may have changed
in between (DNS rebinding). Everything else is the URL's: the ``Host`` header, and for https the TLS server
name (SNI) and the name the certificate is verified against (httpcore: its network backend is the resolver hook).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping, Sequence

import httpcore


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the given addresses in turn, whatever host the request names."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self._addresses = tuple(addresses)
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception = httpcore.ConnectError(f"{host}: no address to connect to")
        for address in self._addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:  # the next address may answer
                failure = exc
        raise failure

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def post(
    url: str,
    addresses: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    timeout: float,
) -> int:
    """POST ``body`` to ``url`` over a connection to one of ``addresses``; the answer's status (a redirect is an
    answer: never followed). The answer's body is not read: a receiver cannot hold the relay or fill its memory
    with one. Certificates are verified with the system's trust, as the standard library's are."""
    context = ssl.create_default_context()
    limits = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    with httpcore.ConnectionPool(ssl_context=context, network_backend=_PinnedBackend(addresses)) as pool:
        answer = pool.stream("POST", url, headers=list(headers.items()), content=body, extensions={"timeout": limits})
        with answer as response:
            return int(response.status)
