"""The node-graph workflow editor."""
