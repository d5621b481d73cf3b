"""Downloading a customer's attachment without becoming a proxy into the internal network.

An attachment URL comes from the client, so it may point anywhere: the shop's admin API, a
metadata service, a closed port. Allowed are only:
- `data:` URLs (the web chat and apps send photos inline);
- the channel's own uploads: `{SHOP_API_URL}/api/uploads/<id>` (fetched with the shop key);
- hosts named in ATTACHMENT_HOSTS (comma-separated; `.example.com` also allows subdomains),
  and only when every address they resolve to is public. The connection goes to the
  address that was checked (no second DNS answer), and each redirect is checked the same way.
  ATTACHMENT_INTERNAL_HOSTS lists allowed hosts that may be private (an intranet media
  server); empty by default.
Every refusal and every failed download gives the customer the same answer, so the replies
do not tell an open port from a closed one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver

from service_common.http import NO_RETRY, HttpClient, HttpError
from service_common.settings import env_list, env_optional, env_str

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 3
TIMEOUT = 15.0
UPLOAD_PATH = re.compile(r"/api/uploads/\d+")


class AttachmentRefused(Exception):
    """Not downloaded; `reason` is for the log only, the customer hears
    utter_photo_link_unusable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooBig(Exception):
    """More bytes than allowed."""


def _hosts(variable: str) -> List[str]:
    return [host.lower() for host in env_list(variable)]


def _listed(host: str, entries: List[str]) -> bool:
    return any(host == entry or (entry.startswith(".") and host.endswith(entry))
               for entry in entries)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class CheckedResolver(AbstractResolver):
    """Resolves like the system does, then refuses private, loopback, link-local and other
    non-public addresses (unless the host is an allowed internal one)."""

    def __init__(self) -> None:
        self.internal = _hosts("ATTACHMENT_INTERNAL_HOSTS")

    async def resolve(self, host: str, port: int = 0,
                      family: int = socket.AF_INET) -> List[Dict[str, Any]]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, family=family)
        found = []
        for family_, _, proto, _, address in infos:
            ip = str(address[0])  # typed str | int for raw sockets; an address here
            if not _listed(host.lower(), self.internal) and not _public(ip):
                raise AttachmentRefused(f"{host} resolves to a non-public address")
            found.append({"hostname": host, "host": ip, "port": address[1],
                          "family": family_, "proto": proto, "flags": socket.AI_NUMERICHOST})
        if not found:
            raise AttachmentRefused(f"{host} does not resolve")
        return found

    async def close(self) -> None:
        return None


def own_upload(url: str) -> bool:
    shop = (env_optional("SHOP_API_URL") or "").rstrip("/")
    return bool(shop) and url.startswith(shop + "/") and \
        bool(UPLOAD_PATH.fullmatch(url[len(shop):].split("?")[0]))


def check_url(url: str) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise AttachmentRefused("not a plain http(s) URL")
    if not _listed(host, _hosts("ATTACHMENT_HOSTS")):
        raise AttachmentRefused(f"{host} is not an allowed media host")


def _checked_connector() -> aiohttp.TCPConnector:
    # Every address checked at connection time; no DNS cache between two downloads.
    return aiohttp.TCPConnector(resolver=CheckedResolver(), use_dns_cache=False)


def _refused(error: HttpError) -> Exception:
    if error.reason == "too_large":
        return TooBig()
    return AttachmentRefused(f"download failed: {error}")


async def download(url: str, max_bytes: int) -> Tuple[bytes, str]:
    """(bytes, content type) of an allowed attachment URL; AttachmentRefused or TooBig.

    Through service_common.http for the timeout and the size limit only: a session of its
    own per download, redirects checked here one by one, and no retry for outside hosts (a
    closed port answering later than an open one would tell them apart)."""
    options: Dict[str, Any] = {"name": "attachment", "timeout": TIMEOUT, "errors": _refused,
                               "log_paths": False}
    if own_upload(url):
        key = env_str("SHOP_API_KEY")
        async with HttpClient(headers={"X-Api-Key": key} if key else {}, **options) as client:
            return await _read(client, url, max_bytes)
    async with HttpClient(retry=NO_RETRY, connector=_checked_connector, **options) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url)
            location = await _read(client, url, max_bytes, follow=False)
            if isinstance(location, str):
                url = location
                continue
            return location
    raise AttachmentRefused("too many redirects")


async def _read(client: HttpClient, url: str, max_bytes: int, follow: bool = True) -> Any:
    # The connector's resolver raises AttachmentRefused itself; the client never follows a
    # redirect (the next URL is checked by the caller first).
    reply = await client.request("GET", url, max_bytes=max_bytes)
    if reply.status in (301, 302, 303, 307, 308) and not follow:
        target = reply.headers.get("Location")
        if not target:
            raise AttachmentRefused("redirect without a location")
        return urljoin(url, target)
    if reply.status >= 300:
        raise AttachmentRefused(f"answered {reply.status}")
    return reply.body, reply.content_type


def describe(url: Optional[str]) -> str:
    """The URL as it may appear in a log: scheme and host only."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.hostname}" if parts.hostname else (parts.scheme or "?")
