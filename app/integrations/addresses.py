"""No webhook to loopback, private, link-local or reserved addresses unless a setting allows it (SSRF guard)."""
import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from app.errors import invalid


class BlockedAddress(Exception):
    """The receiver resolves to an address Detour does not call."""


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified


def check_url(url: str, *, allow_private: bool) -> str:
    """An http(s) URL whose host is not a literal blocked address; names are checked again when resolved."""
    if len(url) > 2000:
        raise invalid("the URL is longer than 2000 characters", "url")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises for a port that is not a number in 0-65535; the sender reads it)
    except ValueError:  # an unclosed [IPv6] bracket, a bad port
        raise invalid("the URL is not a well-formed http(s) URL", "url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("the URL must be http:// or https:// with a host", "url")
    host = parts.hostname
    if not allow_private:
        try:
            literal = _blocked(host)
        except ValueError:
            literal = host == "localhost" or host.endswith(".localhost")
        if literal:
            raise invalid("the URL points at a private or loopback address", "url")
    return url.strip()


async def ensure_public(url: str, *, allow_private: bool) -> None:
    """Resolve the host now and refuse when any of its addresses is blocked."""
    if allow_private:
        return
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise BlockedAddress(f"cannot resolve the receiver's host ({error.__class__.__name__})") from None
    if any(_blocked(info[4][0]) for info in infos):
        raise BlockedAddress("the receiver resolves to a private or loopback address")
