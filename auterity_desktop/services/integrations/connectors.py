"""The connector types and the settings each declares (see ``schema``)."""

from __future__ import annotations

from auterity_desktop.services.integrations.schema import ConnectorSpec, FieldSpec

AUTH = ("none", "api_key", "bearer", "basic", "oauth2")

_REST_FIELDS = (
    FieldSpec("base_url", "Base URL", "url", required=True,
              help="Every request path is relative to this, e.g. https://crm.example.com/api"),
    FieldSpec("auth", "Authentication", "enum", default="none", choices=AUTH,
              help="How requests prove who they come from"),
    FieldSpec("api_key_header", "API key header", "string", default="X-API-Key",
              show_if=("auth", "api_key")),
    FieldSpec("api_key", "API key", "secret", required=True, show_if=("auth", "api_key")),
    FieldSpec("token", "Bearer token", "secret", required=True, show_if=("auth", "bearer")),
    FieldSpec("username", "User name", "string", required=True, show_if=("auth", "basic")),
    FieldSpec("password", "Password", "secret", required=True, show_if=("auth", "basic")),
    FieldSpec("token_url", "Token URL", "url", required=True, show_if=("auth", "oauth2"),
              help="The OAuth2 token endpoint (client credentials grant)"),
    FieldSpec("client_id", "Client ID", "string", required=True, show_if=("auth", "oauth2")),
    FieldSpec("client_secret", "Client secret", "secret", required=True,
              show_if=("auth", "oauth2")),
    FieldSpec("scope", "Scope", "string", show_if=("auth", "oauth2")),
    FieldSpec("health_path", "Health check path", "string", default="/",
              help="Called by Test connection and the periodic health check"),
    FieldSpec("timeout", "Timeout (seconds)", "number", default=30, minimum=0.1, maximum=600),
    FieldSpec("verify_tls", "Verify TLS certificates", "boolean", default=True,
              help="Turn off only for a test system with a self-signed certificate"),
)  # fmt: skip

CONNECTORS: dict[str, ConnectorSpec] = {
    "rest": ConnectorSpec(
        "rest",
        "REST / HTTP API",
        "Any web API: JSON over HTTPS with an API key, bearer token, basic or OAuth2 login.",
        _REST_FIELDS,
    ),
    "dms": ConnectorSpec(
        "dms",
        "Dealership system (DMS / CRM)",
        "A dealer management or CRM system over REST, with its resources and field names "
        "mapped to the names the workflows use.",
        (
            FieldSpec("product", "Product", "string", help="e.g. CDK Drive, DealerSocket"),
            *_REST_FIELDS,
            FieldSpec("resources", "Resource paths", "mapping",
                      default={"leads": "/leads", "appointments": "/appointments",
                               "vehicles": "/inventory"},
                      help="Our resource name → the path in that system"),
            FieldSpec("field_mapping", "Field mapping", "mapping", default={},
                      help="Our field name → that system's field name"),
        ),
    ),
    "webhook": ConnectorSpec(
        "webhook",
        "Inbound webhook",
        "Another system calls us: requests must carry an HMAC signature of their body.",
        (
            FieldSpec("path", "Path", "string", required=True,
                      help="The last part of the address, e.g. leads/new"),
            FieldSpec("signing_secret", "Signing secret", "secret", required=True),
            FieldSpec("signature_header", "Signature header", "string",
                      default="X-Signature-256"),
            FieldSpec("algorithm", "Algorithm", "enum", default="sha256",
                      choices=("sha256", "sha512")),
        ),
    ),
    "sql": ConnectorSpec(
        "sql",
        "SQL database",
        "PostgreSQL, MySQL/MariaDB or SQLite: run queries with bound parameters.",
        (
            FieldSpec("url", "Database URL", "string", required=True,
                      help="postgresql://user@host/db, mysql://user@host/db or sqlite:///path"),
            FieldSpec("password", "Password", "secret",
                      help="Kept in the keyring; leave it out of the URL"),
            FieldSpec("pool_size", "Connections", "integer", default=5, minimum=1,
                      maximum=10_000),
            FieldSpec("timeout", "Query timeout (seconds)", "number", default=30,
                      minimum=0.1, maximum=3600),
        ),
    ),
    "email": ConnectorSpec(
        "email",
        "E-mail (SMTP)",
        "Send mail through an SMTP server with STARTTLS or TLS.",
        (
            FieldSpec("host", "SMTP server", "string", required=True),
            FieldSpec("port", "Port", "integer", default=587, minimum=1, maximum=65535),
            FieldSpec("security", "Security", "enum", default="starttls",
                      choices=("starttls", "tls", "none")),
            FieldSpec("username", "User name", "string"),
            FieldSpec("password", "Password", "secret"),
            FieldSpec("from_address", "From", "string", required=True,
                      help="e.g. Service Desk <service@dealer.example>"),
            FieldSpec("timeout", "Timeout (seconds)", "number", default=30, minimum=0.1,
                      maximum=600),
            FieldSpec("verify_tls", "Verify TLS certificates", "boolean", default=True),
        ),
    ),
}  # fmt: skip
