"""The SSRF guard of webhook URLs (shared/urlguard.py): names are resolved by a stub, or
by the system resolver for forms it answers locally (numbers, /etc/hosts): nothing is sent."""

import ipaddress

import pytest

from shared.urlguard import UnsafeURLError, check_url, pin, system_resolver


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("100.64.0.1", "not globally routable"),
    ],
)
def test_private_addresses_are_refused(address: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError, match=reason):
        check_url("https://hooks.example.com/x", resolve=resolver(address))
    target = check_url("https://hooks.example.com/x", allow_private=True, resolve=resolver(address))
    assert target.addresses == (ipaddress.ip_address(address),)


def test_a_name_resolving_to_any_private_address_is_refused() -> None:
    with pytest.raises(UnsafeURLError, match=r"10\.0\.0\.7"):
        check_url("http://rebind.example/", resolve=resolver("93.184.216.34", "10.0.0.7"))


def test_a_public_address_is_allowed() -> None:
    target = check_url("https://hooks.example.com:8443/in?x=1", resolve=resolver("93.184.216.34"))
    assert (target.scheme, target.host, target.port) == ("https", "hooks.example.com", 8443)
    assert target.host_header == "hooks.example.com:8443"


@pytest.mark.parametrize("address", ["0.0.0.0", "224.0.0.1", "ff02::1"])
def test_multicast_and_unspecified_are_refused_even_when_private_is_allowed(address: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_url("http://x.example/", allow_private=True, resolve=resolver(address))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "http and https"),
        ("file:///etc/passwd", "http and https"),
        ("http://user:pw@example.com/", "credentials"),
        ("http:///path", "no host"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_bad_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(UnsafeURLError, match=why):
        check_url(url, allow_private=True, resolve=resolver("93.184.216.34"))


def test_no_address_is_refused() -> None:
    with pytest.raises(UnsafeURLError, match="no address"):
        check_url("http://example.com/", resolve=resolver())


@pytest.mark.parametrize(
    "url", ["http://localhost:8000/", "http://2130706433/", "http://0x7f.1/", "http://[::1]/"]
)
def test_the_system_resolver_sees_through_spellings_of_loopback(url: str) -> None:
    # Resolved locally (/etc/hosts, numeric forms): nothing is sent anywhere.
    with pytest.raises(UnsafeURLError, match="loopback"):
        check_url(url, resolve=system_resolver)


def test_the_connection_is_pinned_to_the_checked_address() -> None:
    target = check_url("https://hooks.example.com/in?x=1", resolve=resolver("93.184.216.34"))
    assert pin(target, target.addresses[0]) == "https://93.184.216.34:443/in?x=1"
    v6 = check_url("http://[2001:4860::8888]:8080/h", resolve=resolver("2001:4860::8888"))
    assert pin(v6, v6.addresses[0]) == "http://[2001:4860::8888]:8080/h"
    assert v6.host_header == "[2001:4860::8888]:8080"
