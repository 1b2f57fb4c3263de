"""Keep secrets out of what a run records: params, tags, errors and the command line.

Every rule is one row of ``NAME_RULES`` or ``VALUE_RULES`` below (docs/security.md shows the
same table; tests/tracking/capture/test_redact.py runs every row).

Names are split into words on ``_``, ``-``, ``.``, blanks and camelCase boundaries, then
compared word by word, so ``api_key``, ``apiKey``, ``DB_PASSWORD`` and ``auth.token`` are
secrets while ``keyboard``, ``monkey``, ``tokenizer`` and ``max_tokens`` are not. The value of
a secret-looking name is replaced whole, at any depth of nested dicts and lists, before the
value is turned into text. Inside any other text, the value rules hide what looks like a
secret: URL credentials, ``password=...`` pairs of connection strings, ``Bearer`` tokens.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

REDACTED = "***redacted***"


@dataclass(frozen=True)
class NameRule:
    """A name is a secret when one of its words ``how`` ``word``.

    ``how``: ``is`` (the word itself), ``starts`` (``credentials``), ``ends`` (``hftoken``),
    ``last`` (the name's last word is exactly ``word``: ``db_pass``, not ``pass_rate``).
    ``example`` is a secret name the rule catches; ``harmless`` a name it must not catch.
    """

    how: Literal["is", "starts", "ends", "last"]
    word: str
    example: str
    harmless: str = ""


NAME_RULES: tuple[NameRule, ...] = (
    NameRule("starts", "password", "DB_PASSWORD", "pass_rate"),
    NameRule("starts", "passwd", "smtp_passwd"),
    NameRule("is", "pwd", "db.pwd", "pwdx"),
    NameRule("last", "pass", "db_pass", "pass_rate"),
    NameRule("is", "passphrase", "ssh-passphrase"),
    NameRule("ends", "token", "hf_token", "max_tokens"),
    NameRule("is", "secret", "client_secret", "secretary"),
    NameRule("is", "secrets", "aws.secrets"),
    NameRule("is", "key", "ssh_key", "keyboard"),
    NameRule("ends", "apikey", "openaiApiKey"),
    NameRule("ends", "accesskey", "awsAccessKey"),
    NameRule("ends", "secretkey", "secretKey"),
    NameRule("ends", "privatekey", "privateKey"),
    NameRule("is", "private", "private_key", "privacy_budget"),
    NameRule("starts", "credential", "gcp_credentials", "creditor"),
    NameRule("is", "creds", "db_creds"),
    NameRule("is", "auth", "basic_auth", "author"),
    NameRule("is", "authorization", "Authorization"),
    NameRule("is", "bearer", "bearer"),
    NameRule("is", "jwt", "jwt_value"),
    NameRule("is", "session", "session_id", "sessions"),
    NameRule("is", "sessionid", "sessionId"),
    NameRule("starts", "cookie", "cookies", "cook_time"),
    NameRule("is", "signature", "aws_signature"),
)

_WORDS_IS = frozenset(r.word for r in NAME_RULES if r.how == "is")
_WORDS_STARTS = tuple(r.word for r in NAME_RULES if r.how == "starts")
_WORDS_ENDS = tuple(r.word for r in NAME_RULES if r.how == "ends")
_WORDS_LAST = frozenset(r.word for r in NAME_RULES if r.how == "last")

_WORD_SPLIT = re.compile(r"[^0-9A-Za-z]+")
# "apiKey" -> "api Key", "HTTPAuth" -> "HTTP Auth", "key2" stays one word.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

# scheme://userinfo@ ; userinfo may not contain "/" or blanks but may (wrongly) contain "@",
# so the match runs to the last "@" before the path.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/\s?#]*)@")
# Schemes whose user name is often the token itself: drop the whole userinfo.
_DROP_USER_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "git", "git+https", "git+http"})
# NAME=value inside text: connection strings (host=db;Password=x), query strings (?token=x&a=1),
# libpq (password=x user=y). The value runs to the next separator or a closing quote.
_PAIR = re.compile(
    r"(?P<name>[A-Za-z_][\w.\-]*)(?P<eq>\s*=\s*|:\s+)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s;&,\"')}\]]+)"
)
_BEARER = re.compile(r"(?i)\b(?P<scheme>bearer|token|basic)\s+(?P<value>[A-Za-z0-9\-._~+/]{8,}=*)")


@dataclass(frozen=True)
class ValueRule:
    """A secret inside any text (a param value, an argument, an error message)."""

    what: str
    example: str
    redacted: str


VALUE_RULES: tuple[ValueRule, ...] = (
    ValueRule(
        "password or token in a URL",
        "postgresql://me:pw@db/x and https://tok@host/r.git",
        "postgresql://me@db/x and https://host/r.git",
    ),
    ValueRule(
        "NAME=value or NAME: value where NAME looks like a secret (connection and query strings)",
        "Server=db;User Id=me;Password=pw1;",
        f"Server=db;User Id=me;Password={REDACTED};",
    ),
    ValueRule(
        "libpq keywords",
        "host=db password='p w' user=me",
        f"host=db password={REDACTED} user=me",
    ),
    ValueRule(
        "query string", "https://h/x?token=abc&page=2", f"https://h/x?token={REDACTED}&page=2"
    ),
    ValueRule(
        "Bearer, Token or Basic credentials",
        "Authorization: Bearer eyJhbGciOi.x.y",
        f"Authorization: {REDACTED}",
    ),
)

# Short options that carry a password for the programs that define them (``mysql -p x``).
SHORT_SECRET_OPTIONS: dict[str, frozenset[str]] = {
    "mysql": frozenset({"-p"}),
    "mysqldump": frozenset({"-p"}),
    "mariadb": frozenset({"-p"}),
    "sshpass": frozenset({"-p"}),
    "redis-cli": frozenset({"-a"}),
}


def name_words(name: str) -> list[str]:
    """The lower-case words of a parameter name: ``"apiKey_v2"`` -> ``["api", "key", "v2"]``."""
    words: list[str] = []
    for part in _WORD_SPLIT.split(name):
        words.extend(w.lower() for w in _CAMEL.split(part) if w)
    return words


@functools.lru_cache(maxsize=4096)  # the same param names come back on every run
def is_secret_name(name: str) -> bool:
    """Whether a param, tag or option named ``name`` probably holds a secret."""
    words = name_words(name)
    if not words:
        return False
    if words[-1] in _WORDS_LAST:
        return True
    joined = "".join(words)  # "api_key" and "apikey" alike
    if joined.endswith(_WORDS_ENDS) or joined.startswith(_WORDS_STARTS):
        return True
    return any(
        w in _WORDS_IS or w.startswith(_WORDS_STARTS) or w.endswith(_WORDS_ENDS) for w in words
    )


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


def _pair(match: re.Match[str]) -> str:
    if match["value"] == REDACTED or not is_secret_name(match["name"]):
        return match[0]
    return f"{match['name']}{match['eq']}{REDACTED}"


def redact_text(text: str) -> str:
    """``text`` with every value rule applied (cheap when there is nothing to hide)."""
    if "@" in text:
        text = strip_url_credentials(text)
    lower = text.lower()
    if "bearer" in lower or "token " in lower or "basic " in lower:
        text = _BEARER.sub(REDACTED, text)
    if "=" in text or ": " in text:
        text = _PAIR.sub(_pair, text)
    return text


def redact_value(value: Any) -> Any:
    """``value`` with secrets hidden: nested mappings by name, strings by the value rules."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return redact(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    return value


def redact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``mapping`` with the values of secret-looking names replaced by ``REDACTED``.

    Nested mappings and lists are redacted too, and the value rules apply to every string, so
    a ``database_url`` with a password keeps its host but loses the password. Call it before
    turning values into text: a dict turned into JSON first no longer has names to look at.
    """
    return {
        key: REDACTED if is_secret_name(str(key)) else redact_value(value)
        for key, value in mapping.items()
    }


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A command line with the values of secret-looking options hidden.

    ``--password=x`` -> ``--password=***redacted***``; in ``--token x`` the ``x`` is hidden
    (unless it is itself a ``--option``); ``TOKEN=x`` -> ``TOKEN=***redacted***``; a program's
    own password flag (``mysql -p x``, ``SHORT_SECRET_OPTIONS``) hides its value; the value
    rules apply to every argument.
    """
    out: list[str] = []
    hide_next = False
    short: frozenset[str] = frozenset()
    for arg in argv:
        if hide_next and not arg.startswith("--"):
            out.append(REDACTED)
            hide_next = False
            continue
        hide_next = False
        program = arg.rsplit("/", 1)[-1]
        if program in SHORT_SECRET_OPTIONS:
            short = SHORT_SECRET_OPTIONS[program]
        if arg.startswith("-") and len(arg) > 1 and arg != "--":
            if arg[:2] in short and not arg.startswith("--"):
                if len(arg) == 2:
                    out.append(arg)
                    hide_next = True
                else:  # -pSECRET
                    out.append(arg[:2] + REDACTED)
                continue
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
        out.append(redact_text(arg))
    return out
