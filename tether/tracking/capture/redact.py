"""Keep secrets out of what a run records: secret-looking names, URL credentials, argv.

Names are split into words on ``_``, ``-``, ``.``, blanks and camelCase boundaries, then
compared word by word, so ``api_key``, ``apiKey``, ``DB_PASSWORD`` and ``auth.token`` are
secrets while ``keyboard``, ``monkey``, ``tokenizer`` and ``max_tokens`` are not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

REDACTED = "***redacted***"

# A name is a secret when one of its words is one of these ...
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "token",
        "secret",
        "secrets",
        "key",
        "apikey",
        "credential",
        "credentials",
        "auth",
        "authorization",
        "private",
        "privatekey",
        "secretkey",
        "accesskey",
        "accesstoken",
        "authtoken",
        "cookie",
    }
)

_WORD_SPLIT = re.compile(r"[^0-9A-Za-z]+")
# "apiKey" -> "api Key", "HTTPAuth" -> "HTTP Auth", "key2" stays one word.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

# scheme://userinfo@ ; userinfo may not contain "/" or blanks but may (wrongly) contain "@",
# so the match runs to the last "@" before the path.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/\s?#]*)@")
# Schemes whose user name is often the token itself: drop the whole userinfo.
_DROP_USER_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "git", "git+https", "git+http"})


def name_words(name: str) -> list[str]:
    """The lower-case words of a parameter name: ``"apiKey_v2"`` -> ``["api", "key", "v2"]``."""
    words: list[str] = []
    for part in _WORD_SPLIT.split(name):
        words.extend(w.lower() for w in _CAMEL.split(part) if w)
    return words


def is_secret_name(name: str) -> bool:
    """Whether a param, tag or option named ``name`` probably holds a secret."""
    return any(word in SECRET_WORDS for word in name_words(name))


def strip_url_credentials(text: str) -> str:
    """Remove passwords and tokens from every URL in ``text``.

    ``https://user:token@host/x.git`` -> ``https://host/x.git``; for other schemes only the
    password goes (``postgresql://me:pw@db/x`` -> ``postgresql://me@db/x``), so
    ``ssh://git@host/x.git`` and scp-like ``git@host:x.git`` stay unchanged.
    """
    if "@" not in text:
        return text

    def repl(match: re.Match[str]) -> str:
        scheme = match["scheme"]
        if scheme[:-3].lower() in _DROP_USER_SCHEMES:
            return scheme
        user, sep, _password = match["userinfo"].partition(":")
        return f"{scheme}{user}@" if sep or user else scheme

    return _URL_USERINFO.sub(repl, text)


def redact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``mapping`` with the values of secret-looking names replaced by ``REDACTED``.

    Nested mappings are redacted too, and credentials are stripped from URLs in any string
    value (a ``database_url`` with a password in it keeps its host but loses the password).
    """
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if is_secret_name(str(key)):
            out[key] = REDACTED
        elif isinstance(value, Mapping):
            out[key] = redact(value)
        elif isinstance(value, str):
            out[key] = strip_url_credentials(value)
        else:
            out[key] = value
    return out


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A command line with the values of secret-looking options hidden.

    ``--password=x`` -> ``--password=***redacted***``; in ``--token x`` the ``x`` is hidden
    (unless it is itself a ``--option``); ``TOKEN=x`` -> ``TOKEN=***redacted***``; credentials
    in URLs are stripped from every argument.
    """
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next and not arg.startswith("--"):
            out.append(REDACTED)
            hide_next = False
            continue
        hide_next = False
        if arg.startswith("-") and len(arg) > 1 and arg != "--":
            option, eq, _value = arg.lstrip("-").partition("=")
            if is_secret_name(option):
                if eq:
                    out.append(arg[: len(arg) - len(_value)] + REDACTED)
                else:
                    out.append(arg)
                    hide_next = True
                continue
        elif "=" in arg and not arg.startswith("="):
            # KEY=value as in `env TOKEN=x cmd` or hydra-style overrides `db.password=x`.
            name, _, _value = arg.partition("=")
            if is_secret_name(name) and re.fullmatch(r"[\w.\-+/~]+", name):
                out.append(f"{name}={REDACTED}")
                continue
        out.append(strip_url_credentials(arg))
    return out
