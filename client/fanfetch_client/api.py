"""The stack's API, found by stack name, called with SigV4 signatures from the caller's AWS credentials."""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ClientError

from fanfetch_client import urllist

BODY_SHOWN = 200  # characters of an answer that is not the API's JSON, enough to recognise a gateway's page


class FanfetchError(Exception):
    """Something the client could not do; the message says what, in one line."""


class ApiError(FanfetchError):
    """The API answered with an error status, or with something that is not its JSON."""


class Unreachable(FanfetchError):
    """No answer from the API: nothing listening, DNS, TLS, a timeout or a dropped connection."""


class Refused(ApiError):
    """The API refused the request: `status`, and its error's `type` and `details`, say why (for a next step)."""

    def __init__(self, message: str, status: int, error: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.error = error

    @property
    def fields(self) -> set[str]:
        details = self.error.get("details")
        return {str(d.get("field")) for d in details if isinstance(d, dict)} if isinstance(details, list) else set()


class StackError(FanfetchError):
    """The stack could not be found or read from CloudFormation."""


class UrlListError(FanfetchError):
    """A URL list that is neither text lines, a JSON list nor a CSV with a `url` column."""


@dataclass
class Stack:
    api_url: str  # the API's base URL, without a route
    bucket: str | None = None


def api_base(url: str) -> str:
    """The base URL of an API URL given with or without its `/fetch` route (the stack's FetchApiUrl has it)."""
    if not url.lower().startswith(("https://", "http://")):
        raise FanfetchError(f"the API URL must start with https:// or http://: {url!r}")
    return url.rstrip("/").removesuffix("/fetch").rstrip("/")


def find_stack(name: str, region: str | None = None) -> Stack:
    """The API URL and results bucket from a CloudFormation stack's outputs."""
    try:
        cloudformation = boto3.client("cloudformation", region_name=region)
        described = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        where = cloudformation.meta.region_name
        # CloudFormation answers a missing stack with ValidationError ("Stack with id ... does not exist").
        found = "not found" if error.get("Code") == "ValidationError" else "could not be described"
        raise StackError(
            f"stack {name!r} {found} in {where} (aws cloudformation describe-stacks: {error.get('Message', exc)})"
        ) from None
    except BotoCoreError as exc:
        raise StackError(f"cannot read stack {name!r} from CloudFormation: {exc}") from None
    outputs = {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}
    if "FetchApiUrl" not in outputs:
        raise StackError(f"stack {name!r} has no FetchApiUrl output: is it a fanfetch stack?")
    return Stack(api_url=api_base(outputs["FetchApiUrl"]), bucket=outputs.get("ResultsBucketName"))


STDIN = "-"


def read_list_bytes(path: Path) -> bytes:
    """A list file's bytes; `-` is standard input."""
    if str(path) == STDIN:
        return sys.stdin.buffer.read()
    return path.read_bytes()


def read_url_list(path: Path) -> list[str]:
    """The URLs of a list file (`-`: standard input), by the reader the function uses for a job's source
    (urllist.py, one file for both): a JSON list, CSV with a `url` column, or one URL per line. The content
    decides, never the file's name."""
    name = "standard input" if str(path) == STDIN else str(path)
    try:
        return urllist.read_url_list(urllist.decode(read_list_bytes(path), name), name)
    except urllist.UrlListError as exc:
        if exc.item is not None:  # a file's items are numbered, not named as the API's fields are
            problem = f"item {exc.item} is neither a URL string nor an object with a string 'url'"
            raise UrlListError(f"{name}: {problem}") from None
        raise UrlListError(str(exc)) from None


def _shown(body: bytes) -> str:
    """The start of an answer on one line."""
    return " ".join(body.decode(errors="replace").split())[:BODY_SHOWN]


class Client:
    """The API's routes. `sign=False` for an API without auth (the local `make serve`): no AWS credentials needed."""

    def __init__(self, stack: Stack, region: str | None = None, timeout: float = 35.0, sign: bool = True) -> None:
        self.stack = stack
        self.region_name = region
        self.timeout = timeout
        self.sign = sign
        self._session: Any = None

    @property
    def session(self) -> Any:
        """The AWS session, made on first use: an unsigned call to a local API needs none."""
        if self._session is None:
            self._session = boto3.session.Session(region_name=self.region_name)
        return self._session

    def _headers(self, method: str, url: str, body: bytes | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if not self.sign:
            return headers
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        credentials = self.session.get_credentials()
        if credentials is None:
            raise FanfetchError(
                "no AWS credentials: the API is IAM-authorized (SigV4); for a local API without auth "
                "(make serve) add --no-sign"
            )
        region = self.session.region_name or "us-east-1"
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        return dict(request.headers.items())

    def call(self, method: str, path: str, payload: object | None = None) -> tuple[int, dict[str, Any]]:
        url = self.stack.api_url + path
        body = json.dumps(payload).encode() if payload is not None else None
        headers = self._headers(method, url, body)
        prepared = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 (https or loopback)
        try:
            with urllib.request.urlopen(prepared, timeout=self.timeout) as response:  # noqa: S310 (https or loopback)
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as exc:
            raise self._refusal(exc.code, exc.read(), exc.reason) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            raise Unreachable(
                f"cannot reach {self.stack.api_url}: {getattr(reason, 'strerror', None) or reason}"
            ) from None
        except (OSError, http.client.HTTPException) as exc:  # the connection broke or timed out during the answer
            raise Unreachable(f"no complete answer from {self.stack.api_url}: {exc or type(exc).__name__}") from None
        try:
            document = json.loads(answer)
        except ValueError:  # JSONDecodeError, or bytes that are not UTF-8
            raise ApiError(f"HTTP {status} from the API is not JSON: {_shown(answer)}") from None
        if not isinstance(document, dict):  # every route answers an object: this is not fanfetch's API
            raise ApiError(f"HTTP {status} from the API is not a JSON object: {_shown(answer)}")
        return status, document

    @staticmethod
    def _refusal(status: int, body: bytes, reason: str) -> Refused:
        """What an error answer says: the API's own message, else the start of whatever page came back."""
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        error = answer.get("error") if isinstance(answer, dict) else None
        error = error if isinstance(error, dict) else {}
        message = error.get("message")
        if not isinstance(message, str):
            message = _shown(body) or reason
        return Refused(f"HTTP {status} from the API: {message}", status, error)

    def fetch(self, urls: list[str], options: dict[str, Any] | None = None) -> dict[str, Any]:
        _, body = self.call("POST", "/fetch", {"urls": urls, "options": options or {}})
        return body

    def submit(self, path: Path, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """Upload the list to the stack's bucket (any size, any format the API reads), then start the job.
        Without a bucket the list goes inline, read here as the API would read it."""
        payload: dict[str, Any] = {"options": options or {}}
        if self.stack.bucket:
            stdin = str(path) == STDIN
            key = f"uploads/{uuid.uuid4().hex}-{'stdin.txt' if stdin else path.name}"
            with contextlib.nullcontext(sys.stdin.buffer) if stdin else path.open("rb") as listed:
                try:
                    self.session.client("s3").upload_fileobj(listed, self.stack.bucket, key)  # streamed, in parts
                except (BotoCoreError, ClientError) as exc:
                    raise FanfetchError(f"cannot upload {path} to s3://{self.stack.bucket}/{key}: {exc}") from None
            payload["source"] = f"s3://{self.stack.bucket}/{key}"
        else:
            payload["urls"] = read_url_list(path)
            if not payload["urls"]:
                raise UrlListError(f"{path}: no URLs")
        _, body = self.call("POST", "/jobs", payload)
        return body

    def status(self, job_id: str) -> dict[str, Any]:
        _, body = self.call("GET", f"/jobs/{urllib.parse.quote(job_id, safe='')}")
        return body

    def result_lines(self, location: str) -> Iterator[bytes]:
        """The lines of a job's results.jsonl in S3, streamed (a job's results can be gigabytes)."""
        bucket, _, key = location.removeprefix("s3://").partition("/")
        if not location.startswith("s3://") or not bucket or not key:
            raise ApiError(f"the API gave no usable results location: {location!r}")
        try:
            body = self.session.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
            yield from body.iter_lines()
        except (BotoCoreError, ClientError) as exc:
            raise FanfetchError(f"cannot read {location}: {exc}") from None
