"""Where an outgoing webhook may go (streams/notify/targets.py): public addresses only, as written and as resolved."""

from __future__ import annotations

import pytest

from streams.notify.targets import Refused, delivery_addresses, written_refusal


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8123/?query=DROP+TABLE+events",  # the warehouse's HTTP interface
        "http://localhost:8090/api/billing/usage/record",
        "https://api.localhost./",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",  # shared address space
        "http://0.0.0.0:9092/",
        "http://[::1]:8123/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://224.0.0.1/",
        "http://127.1/",  # shorthand forms of 127.0.0.1 the resolver accepts
        "http://2130706433/",
        "http://0x7f000001/",
    ],
)
def test_non_public_hosts_are_refused_as_written(url: str) -> None:
    assert written_refusal(url) is not None
    with pytest.raises(Refused):
        delivery_addresses(url, resolve=lambda host, port: ["93.184.216.34"])


@pytest.mark.parametrize("url", ["https://hooks.example.com/in", "https://93.184.216.34/in", "http://[2606:4700::1]/"])
def test_public_hosts_pass(url: str) -> None:
    assert written_refusal(url) is None
    assert delivery_addresses(url, resolve=lambda host, port: ["93.184.216.34"] * 2) == ["93.184.216.34"]


def test_a_name_resolving_to_a_private_address_is_refused_at_delivery() -> None:
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["93.184.216.34", "127.0.0.1"]

    url = "https://hooks.tenant.test/in"
    assert written_refusal(url) is None  # no DNS when it is registered
    with pytest.raises(Refused, match=r"127\.0\.0\.1"):
        delivery_addresses(url, resolve=resolve)
    assert asked == [("hooks.tenant.test", 443)]
    # Lifted for local development: every address is one to connect to, still from that one lookup.
    assert delivery_addresses(url, resolve=resolve, allow_private=True) == ["93.184.216.34", "127.0.0.1"]
    assert asked == [("hooks.tenant.test", 443)] * 2


def test_a_name_that_does_not_resolve_is_not_sent_to() -> None:
    with pytest.raises(Refused, match="does not resolve"):
        delivery_addresses("https://gone.tenant.test/in", resolve=lambda host, port: [])


def test_a_port_that_is_no_port_is_refused_not_raised() -> None:
    with pytest.raises(Refused, match="port"):
        delivery_addresses("https://hooks.example.com:99999/", resolve=lambda host, port: [])
