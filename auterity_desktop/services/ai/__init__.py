"""AI: model orchestration over providers, the offline cognitive engine, their types."""
