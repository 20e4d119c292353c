"""Connector schemas: what a form must hold, field by field, and webhook signatures."""

from __future__ import annotations

from auterity_desktop.services.integrations.connectors import CONNECTORS
from auterity_desktop.services.integrations.schema import check_name, validate_config
from auterity_desktop.services.integrations.webhook import sign, verify

REST = CONNECTORS["rest"]


def test_fields_that_do_not_apply_are_not_asked_for() -> None:
    names = {f.name for f in REST.relevant({"auth": "basic"})}
    assert {"username", "password"} <= names
    assert not {"token_url", "client_id", "api_key"} & names
    assert {f.name for f in REST.relevant({})} >= {"base_url", "auth", "timeout"}  # auth: none


def test_every_problem_is_named_with_its_field() -> None:
    problems = dict(
        validate_config(
            REST,
            {"base_url": "crm.example", "auth": "api_key", "timeout": 0, "verify_tls": "yes"},
        )
    )
    assert problems == {
        "base_url": "Base URL must be an http:// or https:// address",
        "api_key": "API key is required",
        "timeout": "Timeout (seconds) must be at least 0.1",
        "verify_tls": "Verify TLS certificates must be on or off",
    }
    assert validate_config(REST, {"base_url": "https://x", "auth": "sso"}) == [
        ("auth", "Authentication must be one of none, api_key, bearer, basic, oauth2")
    ]


def test_a_stored_secret_may_be_left_empty_when_editing() -> None:
    form = {"base_url": "https://x", "auth": "bearer", "token": ""}
    assert validate_config(REST, form) == [("token", "Bearer token is required")]
    assert validate_config(REST, form, stored_secrets=frozenset({"token"})) == []


def test_mappings_and_names() -> None:
    dms = CONNECTORS["dms"]
    bad = validate_config(dms, {"base_url": "https://x", "field_mapping": {"email": 3}})
    assert bad == [("field_mapping", "Field mapping must map names to names")]
    assert check_name("") == "An integration needs a name"
    assert check_name("CRM <script>") is not None
    assert check_name("CDK Drive (north)") is None


def test_webhook_signatures_check_the_exact_bytes() -> None:
    body = b'{"lead": "L-1"}'
    signature = sign(body, "s3cret")
    assert signature.startswith("sha256=")
    assert verify(body, signature, "s3cret")
    assert not verify(body + b" ", signature, "s3cret")
    assert not verify(body, signature, "other")
    assert not verify(body, None, "s3cret")
    assert verify(body, sign(body, "k", "sha512"), "k", "sha512")
