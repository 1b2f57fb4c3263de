from __future__ import annotations

import pytest

from tether.tracking.capture import (
    REDACTED,
    is_secret_name,
    redact_argv,
    strip_url_credentials,
)
from tether.tracking.capture.redact import (
    NAME_RULES,
    VALUE_RULES,
    NameRule,
    ValueRule,
    name_words,
    redact,
    redact_text,
)

SECRET_NAMES = [
    "password",
    "db_password",
    "DB_PASSWORD",
    "dbPassword",
    "passwd",
    "token",
    "hf_token",
    "HF-TOKEN",
    "auth.token",
    "accessToken",
    "secret",
    "client_secret",
    "AWS_SECRET_ACCESS_KEY",
    "api_key",
    "apikey",
    "APIKey",
    "apiKey",
    "openai.api-key",
    "key",
    "ssh_key",
    "private_key",
    "privateKey",
    "credential",
    "gcp_credentials",
    "auth",
    "basic_auth",
    "HTTPAuth",
    "Authorization",
    "private",
    "passphrase",
    "pwd",
    "db_pass",
    "refreshToken",
    "bearer",
    "jwt",
    "session",
    "cookie",
    "credentials_file",
]

HARMLESS_NAMES = [
    "keyboard",
    "monkey",
    "tokenizer",
    "tokenizer_name",
    "max_tokens",
    "num_tokens",
    "author",
    "authors",
    "learning_rate",
    "batch_size",
    "keys_sorted",
    "hotkey",
    "passes",
    "secretary",
    "privacy_budget",
    "",
]


@pytest.mark.parametrize("rule", NAME_RULES, ids=lambda r: f"{r.how}-{r.word}")
def test_every_name_rule_catches_its_example_and_spares_its_harmless_name(rule: NameRule) -> None:
    assert is_secret_name(rule.example)
    assert redact({rule.example: "s3cr3t"}) == {rule.example: REDACTED}
    if rule.harmless:
        assert not is_secret_name(rule.harmless)


@pytest.mark.parametrize("rule", VALUE_RULES, ids=lambda r: r.what)
def test_every_value_rule_hides_its_example(rule: ValueRule) -> None:
    assert redact_text(rule.example) == rule.redacted
    assert redact({"note": rule.example}) == {"note": rule.redacted}
    assert redact_text(rule.redacted) == rule.redacted  # idempotent


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", HARMLESS_NAMES)
def test_harmless_names(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("apiKey_v2", ["api", "key", "v2"]),
        ("HTTPAuthHeader", ["http", "auth", "header"]),
        ("db.password-file", ["db", "password", "file"]),
        ("max_tokens", ["max", "tokens"]),
        ("__x__", ["x"]),
    ],
)
def test_name_words(name: str, words: list[str]) -> None:
    assert name_words(name) == words


@pytest.mark.parametrize(
    ("url", "stripped"),
    [
        ("https://user:tok@host/x.git", "https://host/x.git"),
        ("https://tok@host:8443/x.git", "https://host:8443/x.git"),
        ("HTTPS://u:p@host/x", "HTTPS://host/x"),
        ("https://u:p@ss@host/x", "https://host/x"),
        ("https://host/x.git", "https://host/x.git"),
        ("git@github.com:acme/x.git", "git@github.com:acme/x.git"),
        ("ssh://git@host/x.git", "ssh://git@host/x.git"),
        ("ssh://git:pw@host/x.git", "ssh://git@host/x.git"),
        ("postgresql://me:pw@db:5432/app", "postgresql://me@db:5432/app"),
        ("s3://bucket/key@v1", "s3://bucket/key@v1"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("see https://a:b@h/x and http://c@h/y", "see https://h/x and http://h/y"),
        ("", ""),
    ],
)
def test_strip_url_credentials(url: str, stripped: str) -> None:
    assert strip_url_credentials(url) == stripped


def test_redact_mapping() -> None:
    params = {
        "lr": 0.1,
        "api_key": "sk-123",
        "max_tokens": 512,
        "tokenizer": "bpe",
        "db": {"password": "pw", "host": "db1"},
        "data_url": "https://u:p@host/data.csv",
        "password_length": 12,
        "items": ["a"],
    }
    assert redact(params) == {
        "lr": 0.1,
        "api_key": REDACTED,
        "max_tokens": 512,
        "tokenizer": "bpe",
        "db": {"password": REDACTED, "host": "db1"},
        "data_url": "https://host/data.csv",
        "password_length": REDACTED,
        "items": ["a"],
    }
    assert params["api_key"] == "sk-123"  # a copy; the input is untouched


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train.py", "--lr", "0.1"], ["train.py", "--lr", "0.1"]),
        (["t.py", "--password=pw"], ["t.py", f"--password={REDACTED}"]),
        (["t.py", "--api-key", "k", "--lr", "1"], ["t.py", "--api-key", REDACTED, "--lr", "1"]),
        (["t.py", "--token", "-dash-start"], ["t.py", "--token", REDACTED]),
        (["t.py", "--use-auth", "--lr", "1"], ["t.py", "--use-auth", "--lr", "1"]),
        (["t.py", "--max-tokens", "9"], ["t.py", "--max-tokens", "9"]),
        (["t.py", "db.password=x", "lr=1"], ["t.py", f"db.password={REDACTED}", "lr=1"]),
        (["t.py", "--url=https://u:p@h/x"], ["t.py", "--url=https://h/x"]),
        (["t.py", "--", "--token"], ["t.py", "--", "--token"]),
        (["t.py", "--token=abc"], ["t.py", f"--token={REDACTED}"]),
        (["t.py", "--password", "-x1"], ["t.py", "--password", REDACTED]),
        (["mysql", "-u", "me", "-p", "pw"], ["mysql", "-u", "me", "-p", REDACTED]),
        (["/usr/bin/mysql", "-pPW", "db"], ["/usr/bin/mysql", f"-p{REDACTED}", "db"]),
        (["pytest", "-p", "no:cacheprovider"], ["pytest", "-p", "no:cacheprovider"]),
        (
            ["t.py", "--dsn", "host=db password=pw"],
            ["t.py", "--dsn", f"host=db password={REDACTED}"],
        ),
    ],
)
def test_redact_argv(argv: list[str], expected: list[str]) -> None:
    assert redact_argv(argv) == expected


def test_nested_and_list_params_are_redacted_before_they_become_text() -> None:
    params = {
        "db": {"user": "me", "password": "pw", "replicas": [{"token": "t1"}, "x"]},
        "hosts": ["https://u:p@h1/x", "h2"],
        "dsn": "Server=db;Password=pw2;",
    }
    assert redact(params) == {
        "db": {"user": "me", "password": REDACTED, "replicas": [{"token": REDACTED}, "x"]},
        "hosts": ["https://h1/x", "h2"],
        "dsn": f"Server=db;Password={REDACTED};",
    }
