"""Alerts: one channel-neutral message per run, sent through the configured channels."""
