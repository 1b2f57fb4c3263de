"""Checking remote names, URLs and endpoints before they are read from or written to a config.

Names are plain (letters, digits, ``_``, ``-``) so that they are bare TOML keys and safe in
messages and file names; URLs must not carry credentials, which would end up in git.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tether.config.errors import InvalidRemote

SCHEMES = ("file", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss")
"""URL schemes of remotes (besides plain folder paths); the object store implements each."""

ACCEPTED = "a folder path, file://, s3://, gs:// (or gcs://), az:// (or abfs://)"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: str) -> str:
    """A remote name: letters, digits, ``_`` and ``-``, up to 64, starting with a letter/digit."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidRemote(
            f"invalid remote name {name!r}: use letters, digits, '_' and '-' (up to 64, "
            "starting with a letter or digit)"
        )
    return name


def url_scheme(url: str) -> str:
    if "://" not in url:
        return "file"
    return url.split("://", 1)[0].lower()


def _credentials_problem(url: str) -> str | None:
    """Why ``url`` looks like it embeds a secret, or None."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        # az://container@account.dfs.core.windows.net names a container, not a user
        if scheme not in ("az", "abfs", "abfss") or ":" in userinfo:
            return "it holds a user name or password before '@'"
    if parts.query or parts.fragment:
        return "it has a query string (which can carry tokens such as SAS signatures)"
    return None


def check_url(url: str) -> str:
    """Validate a remote URL and return it stripped; InvalidRemote says what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidRemote("the remote URL is empty; give " + ACCEPTED)
    url = url.strip()
    _refuse_control(url, "remote URL")
    scheme = url_scheme(url)
    if scheme not in SCHEMES:
        raise InvalidRemote(f"unsupported remote URL scheme {scheme!r} in {url!r}; use {ACCEPTED}")
    problem = _credentials_problem(url) if "://" in url else None
    if problem:
        raise InvalidRemote(
            f"refusing remote URL {_redact(url)}: {problem}; Tether never stores credentials "
            "in the config, which is committed to git. Give the URL without them and provide "
            "credentials the usual way (S3: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
            "AWS_PROFILE and ~/.aws/credentials; GCS: GOOGLE_APPLICATION_CREDENTIALS; "
            "Azure: AZURE_STORAGE_* variables or `az login`)"
        )
    if scheme == "file" and "://" in url and not urlsplit(url).path:
        raise InvalidRemote(f"remote URL {url!r} names no folder")
    if scheme != "file" and not url.split("://", 1)[1].strip("/"):
        raise InvalidRemote(f"remote URL {url!r} names no bucket or container")
    return url


def check_endpoint(url: str) -> str:
    """Validate an S3 endpoint URL (``http(s)://host[:port]``) and return it stripped."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidRemote("the endpoint URL is empty; give http(s)://HOST[:PORT]")
    url = url.strip()
    _refuse_control(url, "endpoint URL")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidRemote(f"invalid endpoint URL {url!r}: expected http(s)://HOST[:PORT]")
    if parts.username or parts.password or parts.query:
        raise InvalidRemote(
            f"refusing endpoint URL {_redact(url)}: it carries credentials or a query string; "
            "Tether never stores credentials in the config (S3 reads them from "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise InvalidRemote(f"invalid endpoint URL {url!r}: the port is not a number") from None
    return url


def check_endpoint_for(url: str, endpoint_url: str) -> str:
    """``endpoint_url`` validated, and refused unless ``url`` is an S3 URL."""
    if url_scheme(url) not in ("s3", "s3a"):
        raise InvalidRemote(
            f"an endpoint URL applies only to s3:// remotes, not to {url!r}; drop it"
        )
    return check_endpoint(endpoint_url)


def _refuse_control(url: str, what: str) -> None:
    """A newline, tab or other control character in a URL is a paste mistake, not a path."""
    if _CONTROL.search(url):
        raise InvalidRemote(
            f"invalid {what} {url!r}: it contains a control character (newline, tab...); "
            "give it on one line"
        )


def _redact(url: str) -> str:
    """The URL with anything between ``://`` and ``@`` and any query replaced by ``***``."""
    shown = re.sub(r"://[^/@]*@", "://***@", url)
    return re.sub(r"[?#].*\Z", "?***", shown)
