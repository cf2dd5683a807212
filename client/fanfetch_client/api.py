"""The stack's API, found by stack name, called with SigV4 signatures from the caller's AWS credentials."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


class ApiError(Exception):
    """The API refused a request; the message is the API's own."""


@dataclass
class Stack:
    api_url: str  # the API's base URL, without a route
    bucket: str | None = None


def find_stack(name: str, region: str | None = None) -> Stack:
    """The API URL and results bucket from a CloudFormation stack's outputs."""
    described = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=name)["Stacks"][0]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}
    if "FetchApiUrl" not in outputs:
        raise ApiError(f"stack {name} has no FetchApiUrl output")
    return Stack(api_url=outputs["FetchApiUrl"].removesuffix("/fetch"), bucket=outputs.get("ResultsBucketName"))


class Client:
    def __init__(self, stack: Stack, region: str | None = None, timeout: float = 35.0) -> None:
        self.stack = stack
        self.session = boto3.session.Session(region_name=region)
        self.region = self.session.region_name or "us-east-1"
        self.timeout = timeout

    def call(self, method: str, path: str, payload: object | None = None) -> tuple[int, Any]:
        url = self.stack.api_url + path
        body = json.dumps(payload).encode() if payload is not None else None
        request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
        credentials = self.session.get_credentials()
        if credentials is None:
            raise ApiError("no AWS credentials: the API is IAM-authorized (SigV4)")
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(request)
        headers = dict(request.headers.items())
        prepared = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 (https or loopback)
        try:
            with urllib.request.urlopen(prepared, timeout=self.timeout) as response:  # noqa: S310 (https or loopback)
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read() or b"null")
            message = answer.get("error", {}).get("message") if isinstance(answer, dict) else None
            raise ApiError(f"{exc.code}: {message or exc.reason}") from None

    def fetch(self, urls: list[str]) -> dict[str, Any]:
        _, body = self.call("POST", "/fetch", {"urls": urls})
        return dict(body)

    def submit(self, path: Path, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """Upload the list to the stack's bucket (any size, any format the API reads), then start the job."""
        payload: dict[str, Any] = {"options": options or {}}
        if self.stack.bucket:
            key = f"uploads/{uuid.uuid4().hex}-{path.name}"
            self.session.client("s3").upload_file(str(path), self.stack.bucket, key)
            payload["source"] = f"s3://{self.stack.bucket}/{key}"
        else:
            payload["urls"] = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        _, body = self.call("POST", "/jobs", payload)
        return dict(body)

    def status(self, job_id: str) -> dict[str, Any]:
        _, body = self.call("GET", f"/jobs/{job_id}")
        return dict(body)
