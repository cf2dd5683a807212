"""Fixtures of the functional tests that need moto."""

from tests.functional.jobs_harness import job_world

__all__ = ["job_world"]
