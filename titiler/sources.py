"""The source policy: which `url` values GDAL may open, decided before anything is opened."""

import http.client
import ipaddress
import os
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

from titiler.errors import SourceNotFound, SourceRefused, SourceUnavailable, SourceUnreadable

#: Resolves a host name to IP address strings; injectable so tests need no DNS.
Resolver = Callable[[str], list[str]]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-_]*):")
_REMOTE_SCHEMES = ("http", "https", "s3")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# S3 bucket names: 3-63 characters of lowercase letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
# What a host[:port] may contain: no percent-encoding, backslashes, spaces or zone ids, on which
# Python's and curl's URL parsers could disagree about which host is meant.
_NETLOC = re.compile(r"^[A-Za-z0-9.\-_]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
# Every form inet_aton accepts (decimal, octal, hex, 1 to 4 parts): 2852039166, 0xA9FEA9FE, 127.1.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$")
# IPv6 ranges that carry an IPv4 address in their low 32 bits (IPv4-compatible, NAT64).
_EMBEDDING_IPV4 = (ipaddress.ip_network("::/96"), ipaddress.ip_network("64:ff9b::/96"))


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
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and any(ip in network for network in _EMBEDDING_IPV4):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


def _ip_literal(host: str) -> str | None:
    """The address when `host` is an IP literal; numeric forms other than dotted-decimal IPv4 and
    bracketed IPv6 (`2852039166`, `0xA9FEA9FE`, `0251.0376.0251.0376`, `127.1`) are refused, since
    curl reads them as addresses that no prefix names.
    """
    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            raise SourceRefused("host", "the IPv6 address is not valid") from None
    if _NUMERIC_HOST.match(host):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise SourceRefused(
                "host", "IP addresses must be written in dotted-decimal form (a.b.c.d)"
            ) from None
    return None


def _has_dot_segments(path: str) -> bool:
    """True when the path has `.` or `..` segments, also percent-encoded (once or more): curl or
    the server would resolve them and leave the allowed prefix.
    """
    decoded = path
    for _ in range(4):
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    return any(segment in (".", "..") for segment in re.split(r"[/\\]", decoded))


@dataclass(frozen=True)
class SourcePolicy:
    """Allowed prefixes (`s3://bucket/`, `https://host/path/`, `/local/dir/`) and the checks
    that run before GDAL sees a source.

    A bare `https://` or `s3://` prefix allows any public host or bucket; hosts that resolve to
    non-public addresses are only allowed by a prefix that names them.
    """

    allowed_sources: Sequence[str]
    resolver: Resolver = field(default=resolve_host, compare=False)
    #: url -> (final url after checked redirects, expiry): see `follow_redirects`.
    redirect_cache: dict[str, tuple[str, float]] = field(
        default_factory=dict, compare=False, repr=False
    )

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
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. brackets around something that is not an IPv6 address
            raise SourceRefused("host", "the url's host cannot be parsed") from None
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise SourceRefused("host", "credentials in the url are not allowed")
        host = (parts.hostname or "").lower()
        if not host:
            raise SourceRefused("host", "the url has no host")
        if not _NETLOC.match(parts.netloc):
            raise SourceRefused("host", "the host or port contains characters that are not allowed")
        try:
            parts.port  # noqa: B018 - raises on a port outside 0-65535
        except ValueError:
            raise SourceRefused("host", "the port is not valid") from None
        if _has_dot_segments(parts.path):
            raise SourceRefused(
                "path-traversal", "'.' and '..' path segments (even percent-encoded) are refused"
            )
        if scheme == "s3" and not _BUCKET.match(host):
            raise SourceRefused("bucket", "the S3 bucket name is not valid")
        literal = _ip_literal(host) if scheme != "s3" else None
        normalized = url
        if any(_prefix_matches(parts, prefix) for prefix in self.allowed_sources):
            return normalized
        if f"{scheme}://" not in self.allowed_sources:
            raise SourceRefused("prefix", "the url matches no allowed source prefix")
        if scheme == "s3":
            return normalized
        addresses = [literal] if literal else self.resolver(host)
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


#: Redirects followed (each one checked against the policy) before a source is refused.
MAX_REDIRECTS = 5
#: Seconds a checked redirect chain is reused (GDAL caches the file's first bytes longer anyway).
REDIRECT_CACHE_SECONDS = 60.0
_REDIRECT_CACHE_ENTRIES = 512
#: Little- and big-endian TIFF and BigTIFF: the only files the GTiff driver opens.
TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def check_signature(head: bytes) -> None:
    """Refuse a source whose first bytes are not a TIFF header (VRT XML, HDF5, ...)."""
    if head[:4] not in TIFF_SIGNATURES:
        raise SourceRefused("format", "only GeoTIFF sources are served; this is not a TIFF file")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx answers back (as `HTTPError`) instead of following them."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _http_timeout() -> float:
    """The same bound GDAL's requests get (`GDAL_HTTP_TIMEOUT`, seconds)."""
    try:
        return max(0.1, float(os.environ.get("GDAL_HTTP_TIMEOUT", "4")))
    except ValueError:
        return 4.0


def follow_redirects(url: str, policy: SourcePolicy) -> str:
    """The URL GDAL should open for an http(s) `url` that `policy.check` accepted.

    GDAL's curl follows redirects by itself and GDAL 3.10 has no option to stop it (there is no
    FOLLOWLOCATION / MAX_REDIRECT config option; checked empirically), so an allowed source could
    bounce GDAL to a metadata, loopback or other refused address. Before opening, one small request
    (GET `Range: bytes=0-3`, redirects not followed) walks the chain: every `Location` goes through
    the policy again, at most `MAX_REDIRECTS` hops, GDAL then opens the final URL, and the first
    bytes must be a TIFF signature.

    Limit (time of check to time of use): the server, or the DNS of its host, can answer GDAL's
    later requests differently from this check, and GDAL would follow a redirect it sends then.
    """
    now = time.monotonic()
    cached = policy.redirect_cache.get(url)
    if cached is not None and cached[1] > now:
        return cached[0]
    current = url
    timeout = _http_timeout()
    for _ in range(MAX_REDIRECTS + 1):
        request = urllib.request.Request(current, headers={"Range": "bytes=0-3"})
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                head = response.read(4)
                whole_file = response.status == 200 and response.headers.get(
                    "Content-Length", "5"
                ) not in ("0", "1", "2", "3", "4")
        except urllib.error.HTTPError as exc:
            status, location = exc.code, exc.headers.get("Location")
            exc.close()
            if 300 <= status < 400 and location:
                current = _check_redirect(urljoin(current, location.strip()), policy)
                continue
            raise _status_error(status) from None
        except TimeoutError:
            raise SourceUnavailable("The source did not answer in time.") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None)
            if isinstance(reason, TimeoutError):
                raise SourceUnavailable("The source did not answer in time.") from None
            raise SourceUnavailable("The source could not be reached.") from None
        check_signature(head)
        if whole_file:
            raise SourceUnreadable(
                "The source's server ignores HTTP range requests, which reading a COG needs."
            )
        if len(policy.redirect_cache) >= _REDIRECT_CACHE_ENTRIES:
            policy.redirect_cache.clear()
        policy.redirect_cache[url] = (current, now + REDIRECT_CACHE_SECONDS)
        return current
    raise SourceRefused("redirect", f"the source redirects more than {MAX_REDIRECTS} times")


def _check_redirect(target: str, policy: SourcePolicy) -> str:
    """A redirect target is a new source: same policy, and http(s) only."""
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise SourceRefused("redirect", "the source redirects to a non-HTTP location")
    try:
        return policy.check(target)
    except SourceRefused as refused:
        raise SourceRefused(
            "redirect",
            f"the source redirects to a location the policy refuses ({refused.rule})",
        ) from None


def _status_error(status: int) -> Exception:
    if status in (404, 410):
        return SourceNotFound("The source does not exist or could not be reached.")
    if status >= 500:
        return SourceUnavailable(f"The source answered HTTP {status}.")
    return SourceUnreadable(f"The source answered HTTP {status}.")
