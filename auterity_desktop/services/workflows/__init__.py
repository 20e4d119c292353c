"""Workflows: the document model, the node registry, validation, expressions (and, as the
engine lands, durable runs and scheduling)."""
