"""SSRF: which webhook URLs and addresses are refused, and why."""

from __future__ import annotations

import ipaddress

import pytest

from integrations.webhooks.targets import Policy, UnsafeTarget, parse, refusal, resolve

PRODUCTION = Policy()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "0.0.0.0",  # noqa: S104 (an address refused, not bound)
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:8.8.8.8",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://8.8.8.8/hook", "must use https"),
        ("ftp://example.com/", "must start with https://"),
        ("https:///nohost", "has no host"),
        ("https://user:pw@8.8.8.8/", "user name or password"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::ffff:169.254.169.254]/", "IPv4-mapped"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://100.64.1.1/", "not a globally routable"),
        ("https://localhost/hook", "loopback"),
        ("https://" + "a" * 2050 + ".com/", "longer than"),
        ("https://no-such-host.invalid/", "does not resolve"),
    ],
)
def test_production_policy_refuses_with_a_reason(url, reason):
    with pytest.raises(UnsafeTarget, match=reason):
        resolve(url, PRODUCTION)


def test_a_public_address_resolves_to_itself_with_host_and_path():
    target = resolve("https://8.8.8.8:8443/hooks/x?a=1", PRODUCTION)
    assert (target.address, target.port, target.path) == ("8.8.8.8", 8443, "/hooks/x?a=1")
    assert target.host_header == "8.8.8.8:8443"


def test_development_policy_allows_http_and_loopback():
    target = resolve("http://localhost:9/x", Policy(allow_http=True, allow_private=True))
    assert target.address in ("127.0.0.1", "::1")
    assert target.host == "localhost"
    assert target.host_header == "localhost:9"


def test_an_allow_listed_network_or_host_is_reachable_in_production():
    by_network = Policy(allowed_networks=(ipaddress.ip_network("10.0.0.0/8"),))
    assert resolve("https://10.2.3.4/", by_network).address == "10.2.3.4"
    by_host = Policy(allowed_hosts=frozenset({"localhost"}))
    assert resolve("https://localhost/", by_host).host == "localhost"
    with pytest.raises(UnsafeTarget):
        resolve("https://10.2.3.4/", by_host)


def test_parse_keeps_the_query_and_defaults_the_port():
    parsed = parse("https://Example.COM/a?b=c", PRODUCTION)
    assert (parsed.host, parsed.port, parsed.path) == ("example.com", 443, "/a?b=c")
