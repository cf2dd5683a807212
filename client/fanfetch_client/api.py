"""The stack's API, found by stack name, called with SigV4 signatures from the caller's AWS credentials."""

from __future__ import annotations

import csv
import http.client
import io
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ClientError

BODY_SHOWN = 200  # characters of an answer that is not the API's JSON, enough to recognise a gateway's page


class FanfetchError(Exception):
    """Something the client could not do; the message says what, in one line."""


class ApiError(FanfetchError):
    """The API answered with an error status, or with something that is not its JSON."""


class Unreachable(FanfetchError):
    """No answer from the API: nothing listening, DNS, TLS, a timeout or a dropped connection."""


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


def read_url_list(path: Path) -> list[str]:
    """The URLs of a list file, read as the API reads a job's source: a JSON list (of strings or of objects
    with `url`), a CSV with a `url` column, or one URL per line (blank lines and `#` comments skipped)."""
    try:
        text = path.read_text(encoding="utf-8-sig").strip()  # utf-8-sig: a BOM is not part of the first URL
    except UnicodeDecodeError:
        raise UrlListError(f"{path}: not UTF-8 text") from None
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UrlListError(
                f"{path}: starts with '[' but is not a JSON list ({exc.msg}, line {exc.lineno})"
            ) from None
        listed: list[str] = []
        for position, item in enumerate(items):
            url = item.get("url") if isinstance(item, dict) else item
            if not isinstance(url, str):
                raise UrlListError(f"{path}: item {position} is neither a URL string nor an object with a string 'url'")
            listed.append(url)
        return listed
    first = text.splitlines()[0] if text else ""
    header = [column.strip().lower() for column in next(csv.reader([first]), [])]
    # A header has no scheme and is no comment: a .csv of bare URLs is read as lines, as the API reads it.
    looks_like_csv = (path.suffix.lower() == ".csv" or "," in first) and "://" not in first
    if "url" in header or (looks_like_csv and not first.startswith("#")):
        rows = csv.DictReader(io.StringIO(text))
        column = next((name for name in rows.fieldnames or [] if name.strip().lower() == "url"), None)
        if column is None:
            raise UrlListError(f"{path}: a CSV needs a 'url' column, and its header {first!r} has no 'url' column")
        urls = [(row.get(column) or "").strip() for row in rows]
    else:
        urls = [line.strip() for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [url for url in urls if url]


def _shown(body: bytes) -> str:
    """The start of an answer on one line."""
    return " ".join(body.decode(errors="replace").split())[:BODY_SHOWN]


class Client:
    def __init__(self, stack: Stack, region: str | None = None, timeout: float = 35.0) -> None:
        self.stack = stack
        self.session = boto3.session.Session(region_name=region)
        self.region = self.session.region_name or "us-east-1"
        self.timeout = timeout

    def call(self, method: str, path: str, payload: object | None = None) -> tuple[int, dict[str, Any]]:
        url = self.stack.api_url + path
        body = json.dumps(payload).encode() if payload is not None else None
        request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
        credentials = self.session.get_credentials()
        if credentials is None:
            raise FanfetchError("no AWS credentials: the API is IAM-authorized (SigV4)")
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(request)
        headers = dict(request.headers.items())
        prepared = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 (https or loopback)
        try:
            with urllib.request.urlopen(prepared, timeout=self.timeout) as response:  # noqa: S310 (https or loopback)
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(self._refusal(exc.code, exc.read(), exc.reason)) from None
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
    def _refusal(status: int, body: bytes, reason: str) -> str:
        """What an error answer says: the API's own message, else the start of whatever page came back."""
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        message = answer.get("error", {}).get("message") if isinstance(answer, dict) else None
        if not isinstance(message, str):
            message = _shown(body) or reason
        return f"HTTP {status} from the API: {message}"

    def fetch(self, urls: list[str]) -> dict[str, Any]:
        _, body = self.call("POST", "/fetch", {"urls": urls})
        return body

    def submit(self, path: Path, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """Upload the list to the stack's bucket (any size, any format the API reads), then start the job.
        Without a bucket the list goes inline, read here as the API would read it."""
        payload: dict[str, Any] = {"options": options or {}}
        if self.stack.bucket:
            key = f"uploads/{uuid.uuid4().hex}-{path.name}"
            with path.open("rb") as listed:
                try:
                    self.session.client("s3").upload_fileobj(listed, self.stack.bucket, key)
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
