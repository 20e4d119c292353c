"""Messaging: a persistent message queue with topic wildcards, at-least-once delivery,
visibility timeouts, priorities, delays and a dead-letter queue with reasons and replay."""
