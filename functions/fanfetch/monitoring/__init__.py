"""Monitoring: small pure parts (state, observation, judge, transitions, views, alerts) and one runner doing the I/O."""
