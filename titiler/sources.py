"""The source policy: which `url` values GDAL may open, decided before anything is opened."""

import ipaddress
import os
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from titiler.errors import SourceRefused

#: Resolves a host name to IP address strings; injectable so tests need no DNS.
Resolver = Callable[[str], list[str]]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-_]*):")
_REMOTE_SCHEMES = ("http", "https", "s3")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# S3 bucket names: 3-63 characters of lowercase letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def resolve_host(host: str) -> list[str]:
    """Every address `host` resolves to (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local (cloud metadata), multicast and reserved ranges."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class SourcePolicy:
    """Allowed prefixes (`s3://bucket/`, `https://host/path/`, `/local/dir/`) and the checks
    that run before GDAL sees a source.

    A bare `https://` or `s3://` prefix allows any public host or bucket; hosts that resolve to
    non-public addresses are only allowed by a prefix that names them.
    """

    allowed_sources: Sequence[str]
    resolver: Resolver = field(default=resolve_host, compare=False)

    def check(self, url: str) -> str:
        """Return the source to hand to GDAL, or raise `SourceRefused` naming the rule."""
        if not url or not url.strip():
            raise SourceRefused("empty", "the url parameter is empty")
        if _CONTROL_CHARACTERS.search(url):
            raise SourceRefused("syntax", "the url contains control characters")
        if url.lower().startswith("/vsi"):
            raise SourceRefused(
                "gdal-syntax", "GDAL virtual file systems (/vsi...) are not allowed"
            )
        scheme_match = _SCHEME.match(url)
        if scheme_match is None:
            return self._check_local(url)
        scheme = scheme_match.group(1).lower()
        if scheme not in _REMOTE_SCHEMES or not url[len(scheme) + 1 :].startswith("//"):
            raise SourceRefused(
                "scheme",
                f"'{scheme}:' sources are not allowed; use https://, s3:// or an allowed path",
            )
        return self._check_remote(url, scheme)

    def _check_local(self, path: str) -> str:
        if not os.path.isabs(path):
            raise SourceRefused("local-path", "local paths must be absolute")
        real = os.path.realpath(path)
        for prefix in self.allowed_sources:
            if _SCHEME.match(prefix) or not os.path.isabs(prefix):
                continue
            directory = os.path.realpath(prefix)
            if real == directory or real.startswith(directory.rstrip(os.sep) + os.sep):
                return real
        raise SourceRefused("local-path", "the path is outside every allowed directory")

    def _check_remote(self, url: str, scheme: str) -> str:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if not host:
            raise SourceRefused("host", "the url has no host")
        if parts.username is not None or parts.password is not None:
            raise SourceRefused("host", "credentials in the url are not allowed")
        if scheme == "s3" and not _BUCKET.match(host):
            raise SourceRefused("bucket", "the S3 bucket name is not valid")
        normalized = url
        if any(_prefix_matches(parts, prefix) for prefix in self.allowed_sources):
            return normalized
        if f"{scheme}://" not in self.allowed_sources:
            raise SourceRefused("prefix", "the url matches no allowed source prefix")
        if scheme == "s3":
            return normalized
        addresses = self.resolver(host)
        if not addresses:
            raise SourceRefused("host", "the host name does not resolve")
        if not all(is_public_address(address) for address in addresses):
            raise SourceRefused(
                "private-address",
                "the host resolves to a loopback, private, link-local or metadata address",
            )
        return normalized


def _prefix_matches(url: SplitResult, prefix: str) -> bool:
    """True when `prefix` names the url's host (and port) and its path starts the url's path.

    Hosts compare whole, so `https://data.example` never allows `https://data.example.evil`.
    """
    allowed = urlsplit(prefix)
    if not allowed.hostname or allowed.scheme.lower() != url.scheme.lower():
        return False
    if allowed.hostname.lower() != (url.hostname or "").lower() or allowed.port != url.port:
        return False
    return url.path.startswith(allowed.path or "/") or (allowed.path in ("", "/"))


def s3_buckets(allowed_sources: Sequence[str]) -> list[tuple[str, str]]:
    """(bucket, key prefix) for every `s3://bucket/...` entry: what the IAM read policy grants."""
    grants = []
    for prefix in allowed_sources:
        if not prefix.lower().startswith("s3://") or len(prefix) <= len("s3://"):
            continue
        bucket, _, key_prefix = prefix[len("s3://") :].partition("/")
        grants.append((bucket, key_prefix))
    return grants
