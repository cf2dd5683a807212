"""Fixtures of the functional tests that need moto."""

from tests.functional.jobs_harness import job_world
from tests.functional.test_monitoring import aws, monitor_env, moto_server

__all__ = ["aws", "job_world", "monitor_env", "moto_server"]
