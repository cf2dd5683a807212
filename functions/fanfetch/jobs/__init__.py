"""Jobs beyond one invocation: lists (what POST /jobs accepts), plan (chunks and keys), progress (status),
merge (results in input order) and service (the routes' I/O)."""

from fanfetch.jobs.lists import JobAccepted, JobRequest
from fanfetch.jobs.plan import chunk_lines, execution_arn, execution_input, job_keys, new_job_id, part_key
from fanfetch.jobs.service import status, submit

__all__ = [
    "JobAccepted",
    "JobRequest",
    "chunk_lines",
    "execution_arn",
    "execution_input",
    "job_keys",
    "new_job_id",
    "part_key",
    "status",
    "submit",
]
