"""The parts of the Lambda context the handler and Powertools read, for benches that call the handler in process."""

from __future__ import annotations

import time


class BenchContext:
    def __init__(self, function_name: str, request_id: str, memory_mb: int, timeout_s: float) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "bench"
        self.aws_request_id = request_id
        self.memory_limit_in_mb = memory_mb
        self._ends = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self._ends - time.monotonic()) * 1000)
