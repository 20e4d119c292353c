"""Process mining: event logs, discovery, conformance and performance, vectorised."""
