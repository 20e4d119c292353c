"""Connections to outside systems (REST, webhooks, SQL, e-mail, DMS/CRM) with secrets in the
OS keyring."""
