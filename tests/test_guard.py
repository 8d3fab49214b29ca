"""Guard detectors: valid values found, bad checksums and near-misses not."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from benchmarks.guard_corpus import generate, tally

from annexa.guard import Guard, ScanError, parse_policy
from annexa.guard.engine import _Compiled
from annexa.guard.findings import Finding


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard()


def types(guard: Guard, text: str) -> list[tuple[str, str]]:
    result = guard.scan(text)
    assert result.status == "ok"
    return [(f.entity_type, f.text) for f in result]


FOUND = [
    ("write to jane.doe+ai@example.co.uk today", "EMAIL_ADDRESS", "jane.doe+ai@example.co.uk"),
    ("call +44 20 7946 0958 now", "PHONE_NUMBER", "+44 20 7946 0958"),
    ("phone: (415) 555-2671", "PHONE_NUMBER", "(415) 555-2671"),
    ("see https://example.com/a?b=1.", "URL", "https://example.com/a?b=1"),
    ("host 192.168.10.1 is down", "IP_ADDRESS", "192.168.10.1"),
    ("v6 2001:db8:85a3::8a2e:370:7334 up", "IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334"),
    ("mac 00:1A:2B:3C:4D:5E seen", "MAC_ADDRESS", "00:1A:2B:3C:4D:5E"),
    ("card 4539 1488 0343 6467 exp", "CREDIT_CARD", "4539 1488 0343 6467"),
    ("mc 2221000000000009 ok", "CREDIT_CARD", "2221000000000009"),
    ("amex 3782-822463-10005 ok", "CREDIT_CARD", "3782-822463-10005"),
    ("visa19 4000000000000000006 ok", "CREDIT_CARD", "4000000000000000006"),
    ("IBAN GB82 WEST 1234 5698 7654 32 please", "IBAN_CODE", "GB82 WEST 1234 5698 7654 32"),
    ("iban DE89370400440532013000", "IBAN_CODE", "DE89370400440532013000"),
    ("SWIFT/BIC: DEUTDEFF500", "SWIFT_CODE", "DEUTDEFF500"),
    ("btc 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "CRYPTO", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    (
        "to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "CRYPTO",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    ),
    (
        "eth 0x52908400098527886E0F7030069857D2E4169EE7",
        "CRYPTO",
        "0x52908400098527886E0F7030069857D2E4169EE7",
    ),
    ("SSN 536-22-1234 on file", "US_SSN", "536-22-1234"),
    ("ssn: 536221234", "US_SSN", "536221234"),
    ("NI number AB 12 34 56 C", "UK_NINO", "AB 12 34 56 C"),
    ("NHS number 943 476 5919", "UK_NHS", "943 476 5919"),
    ("Steuer-ID 86095742719", "DE_TAX_ID", "86095742719"),
    ("NIR 2 95 10 99 126 111 93", "FR_NIR", "2 95 10 99 126 111 93"),
    ("DNI 54362315K", "ES_NIF", "54362315K"),
    ("NIE X2482300W", "ES_NIE", "X2482300W"),
    ("codice fiscale RCCMNL83S18D969H", "IT_FISCAL_CODE", "RCCMNL83S18D969H"),
    ("BSN 111222333", "NL_BSN", "111222333"),
    ("aadhaar 2341 2341 2346", "IN_AADHAAR", "2341 2341 2346"),
    ("PAN ACUPA7085R", "IN_PAN", "ACUPA7085R"),
    ("key AKIAZ3MHK4QW7RTPLX2N here", "AWS_ACCESS_KEY", "AKIAZ3MHK4QW7RTPLX2N"),
    (
        "aws_secret_access_key = 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",
        "AWS_SECRET_KEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Lk2Pa9Q",
    ),
    (
        "k=AIzaSyD4x9Q2bLmN7pRt5VwXy8Zc1Ae3Gh6Jk0M",
        "GCP_API_KEY",
        "AIzaSyD4x9Q2bLmN7pRt5VwXy8Zc1Ae3Gh6Jk0M",
    ),
    (
        "t ghp_aBcD1234eFgH5678iJkL9012mNoP3456qRsT.",
        "GITHUB_TOKEN",
        "ghp_aBcD1234eFgH5678iJkL9012mNoP3456qRsT",
    ),
    ("glpat-x7Kq2mPz9Rt4Wv8Ya1Bc ok", "GITLAB_TOKEN", "glpat-x7Kq2mPz9Rt4Wv8Ya1Bc"),
    (
        "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "SLACK_TOKEN",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc ok", "STRIPE_KEY", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    (
        "OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        "OPENAI_API_KEY",
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    ),
    (
        "sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6hIj9kLm2n",
        "ANTHROPIC_API_KEY",
        "sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6hIj9kLm2n",
    ),
    (
        "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX3g",
        "JWT",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX3g",
    ),
    ("db postgres://admin:s3cr3tPw@db.local/x", "URL_CREDENTIALS", "admin:s3cr3tPw"),
    ("Server=db;User Id=sa;Password=Pa55w0rd!x;", "PASSWORD", "Pa55w0rd!x"),
    (
        "AccountName=acme;AccountKey=" + "Zm9vYmFy" * 11 + "==;",
        "AZURE_STORAGE_KEY",
        "Zm9vYmFy" * 11 + "==",
    ),
    (
        "https://acmedocs.blob.core.windows.net/r/q3.pdf?sv=2022-11-02&sp=r&sig="
        "WNLo3Ob5dcKBpePwHdvmtuY%2BwWka9IlO2NH39yxg3%2B0%3D",
        "AZURE_SAS_TOKEN",
        "WNLo3Ob5dcKBpePwHdvmtuY%2BwWka9IlO2NH39yxg3%2B0%3D",
    ),
    ("DB_PASSWORD=Tr0ub4dor-x9 in .env", "PASSWORD", "Tr0ub4dor-x9"),
    ("export OAUTH_CLIENT_SECRET=q8Zr2mLx7Vp", "PASSWORD", "q8Zr2mLx7Vp"),
    ("password=%L7csGZaF31DD", "PASSWORD", "%L7csGZaF31DD"),  # a password may start with %
    ('password = "Pa(ss)w0rd!"', "PASSWORD", '"Pa(ss)w0rd!"'),  # quoted: a literal, brackets too
    ("DB_PASSWORD=Pa55.w0rd", "PASSWORD", "Pa55.w0rd"),
    ("Bank: Barclays, BARCGB22", "SWIFT_CODE", "BARCGB22"),  # a digit: no need to name it
    ("BIC DEUTDEFF", "SWIFT_CODE", "DEUTDEFF"),  # all letters: named just before
    # a random token whose lower-case run has no vowels to make it a word
    (
        "token tlHhsanhChkdnpy3SVS1c2eqL1BL5dN4i",
        "HIGH_ENTROPY_SECRET",
        "tlHhsanhChkdnpy3SVS1c2eqL1BL5dN4i",
    ),
]


@pytest.mark.parametrize(
    ("text", "entity", "value"), FOUND, ids=[f[1] + ":" + f[2][:12] for f in FOUND]
)
def test_detector_finds_valid_values(guard: Guard, text: str, entity: str, value: str) -> None:
    assert (entity, value) in types(guard, text)


NOT_FOUND = [
    ("card 4539 1488 0343 6468 exp", "CREDIT_CARD"),  # Luhn fails
    ("card 9539148803436467 exp", "CREDIT_CARD"),  # no such brand
    ("iban GB83 WEST 1234 5698 7654 32", "IBAN_CODE"),  # mod-97 fails
    ("SSN 666-22-1234", "US_SSN"),
    ("SSN 900-22-1234", "US_SSN"),
    ("SSN 000-22-1234", "US_SSN"),
    ("SSN 536-00-1234", "US_SSN"),
    ("SSN 536-22-0000", "US_SSN"),
    ("SSN 536-22 1234", "US_SSN"),  # mixed separators
    ("NI number BG 12 34 56 C", "UK_NINO"),
    ("NHS number 943 476 5918", "UK_NHS"),
    ("Steuer-ID 86095742718", "DE_TAX_ID"),
    ("DNI 54362315X", "ES_NIF"),
    ("codice fiscale RCCMNL83S18D969X", "IT_FISCAL_CODE"),
    ("BSN 111222334", "NL_BSN"),
    ("aadhaar 2341 2341 2347", "IN_AADHAAR"),
    ("btc 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "CRYPTO"),
    ("release 1.2.3.4 shipped", "IP_ADDRESS"),
    ("value 999.1.1.1 bad", "IP_ADDRESS"),
    ("id 123e4567-e89b-12d3-a456-426614174000", "HIGH_ENTROPY_SECRET"),
    ("sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "HIGH_ENTROPY_SECRET"),
    ("getUserAccountInformationByIdentifier2", "HIGH_ENTROPY_SECRET"),
    ("ordered at 2024-03-15 10:22:31 order 48213", "PHONE_NUMBER"),
    ("ticket 482910376 was closed", "US_SSN"),
    ("JWT eyJub3Rqc29uIGF0IGFsbA.eyJzdWIiOiIxIn0.c2ln", "JWT"),
    ("Password: see the wiki", "PASSWORD"),
    ("version 2.14.3 and 10.0.19045", "IP_ADDRESS"),
    # placeholders and examples in token shapes
    ("key sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "ANTHROPIC_API_KEY"),
    ("key id AKIAAAAAAAAAAAAAAAAA", "AWS_ACCESS_KEY"),
    ("aws_secret_access_key = " + "a" * 40, "AWS_SECRET_KEY"),
    ("AccountKey=" + "A" * 86 + "==;", "AZURE_STORAGE_KEY"),
    ("https://acme.blob.core.windows.net/c?sv=1&sig=" + "x" * 32, "AZURE_SAS_TOKEN"),
    ("key AIza" + "x" * 35, "GCP_API_KEY"),
    ("token ghp_" + "x" * 36, "GITHUB_TOKEN"),
    ("token glpat-xxxxxxxxxxxxxxxxxxxx", "GITLAB_TOKEN"),
    ("key sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "OPENAI_API_KEY"),
    ("token xoxb-xxxxxxxxxx-xxxxxxxxxxxx", "SLACK_TOKEN"),
    ("key sk_test_xxxxxxxxxxxxxxxxxxxxxxxx", "STRIPE_KEY"),
    (
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZI\n-----END PUBLIC KEY-----",
        "PRIVATE_KEY",
    ),
    # wrong check characters, impossible shapes
    ("NIE X1234567A", "ES_NIE"),  # the letter for X1234567 is L
    ("NIR 1 84 01 75 123 456 59", "FR_NIR"),  # the key is 58
    ("PAN ABCDE1234F", "IN_PAN"),  # D is no holder type
    ("retina icon logo@2x.png", "EMAIL_ADDRESS"),
    ("mac 00:00:00:00:00:00", "MAC_ADDRESS"),
    ("go to https://x now", "URL"),
    ("ssh://deploy:@host/repo", "URL_CREDENTIALS"),  # no password
    ("Status BUSINESS for the bank wire batch", "SWIFT_CODE"),  # a word, not a BIC
    ("DATABASE transfer to the bank", "SWIFT_CODE"),
    ("password=${DB_PASSWORD}", "PASSWORD"),  # placeholders
    ("password: %(password)s", "PASSWORD"),
    ("pwd = {{ vault_pw }}", "PASSWORD"),
    ("password=<password>", "PASSWORD"),
    ("BYPASS=enabledforall", "PASSWORD"),
    # code: the value is an expression, not a literal (seen in this project's own source)
    ('password = form.get("password") or ""', "PASSWORD"),
    ("secret = issued.secret", "PASSWORD"),
    ("secret = TOKEN_PREFIX + secrets.token_urlsafe(32)", "PASSWORD"),
    ("user.totp_secret = pyotp.random_base32()", "PASSWORD"),
    ("no_password: Annotated[", "PASSWORD"),
    ("``client_secret=None`` removes the secret", "PASSWORD"),
    (
        '_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"',
        "HIGH_ENTROPY_SECRET",
    ),
    ('_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"', "HIGH_ENTROPY_SECRET"),
    (
        '<img src="data:image/png;base64,'
        + 'M+XbGipgKQO78tWceUkJjfEJJKhCLODw+IJ/MoCUayQbDcZpAaETM+aPrIRAU6ub">',
        "HIGH_ENTROPY_SECRET",
    ),
    ("bucket uploadsbucket2024Prod7Region", "HIGH_ENTROPY_SECRET"),  # words in an identifier
    ("class HTTPRequestHandlerFactory2Impl:", "HIGH_ENTROPY_SECRET"),  # a CamelCase name
]


@pytest.mark.parametrize(("text", "entity"), NOT_FOUND, ids=[n[0][:30] for n in NOT_FOUND])
def test_near_misses_are_rejected(guard: Guard, text: str, entity: str) -> None:
    assert entity not in [t for t, _ in types(guard, text)]


def test_each_private_key_block_ends_at_its_end_marker(guard: Guard) -> None:
    """The body takes base64, header lines and escaped newlines, but a dash only before a
    letter or digit: the END marker closes the match, and a second key is found on its own."""
    first = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nMIIEow" + "AbC9" * 20
    first += "\n-----END RSA PRIVATE KEY-----"
    second = "-----BEGIN PRIVATE KEY-----\\nMC4CAQAw" + "xY7z" * 12 + "\\n-----END PRIVATE KEY-----"
    text = f"key one {first} then the words after it, key two {second} done"
    keys = [f.text for f in guard.scan(text) if f.entity_type == "PRIVATE_KEY"]
    assert keys == [first, second]


def test_offsets_are_str_offsets_with_non_ascii(guard: Guard) -> None:
    text = "Grüße 😀 von José: josé.garcía@example.com? nein, jose@example.com"
    (f,) = [f for f in guard.scan(text) if f.entity_type == "EMAIL_ADDRESS"][-1:]
    assert text[f.start : f.end] == f.text == "jose@example.com"


def test_context_boosts_low_scores(guard: Guard) -> None:
    assert "US_SSN" not in [t for t, _ in types(guard, "ref 536221234 logged")]
    assert ("US_SSN", "536221234") in types(guard, "her SSN is 536221234")


def test_policy_terms_patterns_allow_deny_thresholds() -> None:
    policy = parse_policy(
        {
            "terms": [{"value": "Project Nightingale", "entity_type": "CODE_NAME"}],
            "patterns": [{"name": "matter", "entity_type": "MATTER", "regex": r"\bM-\d{6}\b"}],
            "allow": ["support@example.com"],
            "deny": ["Globex"],
            "thresholds": {"IP_ADDRESS": 0.9},
            "disabled": ["URL"],
        }
    )
    g = Guard(policy)
    found = types(
        g,
        "project nightingale for GLOBEX, matter M-123456, mail support@example.com or "
        "a@b.io, at 10.1.2.3, https://x.example.com",
    )
    assert ("CODE_NAME", "project nightingale") in found
    assert ("DENY_LIST", "GLOBEX") in found
    assert ("MATTER", "M-123456") in found
    assert ("EMAIL_ADDRESS", "a@b.io") in found
    assert all(t not in ("URL", "IP_ADDRESS") for t, _ in found)
    assert "support@example.com" not in [v for _, v in found]
    assert types(g, "nightingales sing") == []  # word boundaries


def test_overlaps_resolve_to_one_finding(guard: Guard) -> None:
    found = guard.scan("ghp_aBcD1234eFgH5678iJkL9012mNoP3456qRsT")
    assert [f.entity_type for f in found] == ["GITHUB_TOKEN"]


def test_fail_closed_when_a_detector_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    g = Guard()

    def boom(text: str, start: int, end: int) -> float:
        raise RuntimeError("broken validator")

    g._compiled = _Compiled(
        [replace(d, validator=boom) if d.name == "email" else d for d in g._compiled.detectors]
    )
    result = g.scan("mail jane@example.com")
    assert result.status == "error" and not result.clean
    assert "email" in result.errors[0]
    with pytest.raises(ScanError):
        result.raise_for_status()
    with pytest.raises(ScanError):
        g.redact("mail jane@example.com")


def test_fail_closed_when_matching_core_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    g = Guard()

    class Broken:
        def Match(self, data: bytes) -> list[int]:
            raise MemoryError("DFA out of memory")

    g._compiled.set = Broken()
    g._compiled.hs = None  # the re2.Set gate (the Hyperscan one: tests/test_guard_gate.py)
    result = g.scan("nothing here")
    assert result.status == "error"
    with pytest.raises(ScanError):
        g.redact("nothing here")


def test_adversarial_inputs_are_linear_time(guard: Guard) -> None:
    nasty = [
        "a" * 200_000,
        "1" * 200_000,
        "1 " * 100_000,
        "a@" * 100_000,
        "-----BEGIN PRIVATE KEY-----" + "A" * 200_000,
        "http://" + "a:" * 100_000,
        "eyJ" + "a" * 100_000 + ".eyJ" + "b" * 100_000,
        ":" * 200_000,
        "0x" + "f" * 200_000,
        "".join(chr(0x300 + i % 50) for i in range(200_000)),
    ]
    for text in nasty:
        t0 = time.perf_counter()
        result = guard.scan(text)
        elapsed = time.perf_counter() - t0
        assert result.status == "ok"
        assert elapsed < 2.0, (text[:20], elapsed)


def test_finding_is_serialisable(guard: Guard) -> None:
    (f,) = guard.scan("a@b.io")
    assert isinstance(f, Finding) and f.to_dict()["entity_type"] == "EMAIL_ADDRESS"


def test_every_pattern_entity_meets_the_accuracy_goal_on_the_corpus(guard: Guard) -> None:
    """The issue's goal (precision and recall of 0.97 or more on every pattern entity) on a
    slice of the benchmark's labelled corpus, which must hold values of every entity type
    the pattern tier has (a new detector needs samples there)."""
    tp, fp, fn = tally(guard, generate(2500, seed=41))
    assert set(tp) == {d.entity_type for d in guard.detectors}
    for entity, hits in tp.items():
        assert hits >= 40, entity
        assert hits / (hits + fp[entity]) >= 0.97, (entity, hits, fp[entity])
        assert hits / (hits + fn[entity]) >= 0.97, (entity, hits, fn[entity])


def test_an_all_letter_swift_code_needs_its_name_on_its_line(guard: Guard) -> None:
    text = "BIC DEUTDEFF\nStatus BUSINESS for the bank wire"
    assert [f.text for f in guard.scan(text) if f.entity_type == "SWIFT_CODE"] == ["DEUTDEFF"]
