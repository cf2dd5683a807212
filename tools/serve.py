"""`make serve`: a local HTTP endpoint that turns requests into API Gateway HTTP API (v2) events.

It answers with what lambda_handler returns, as `sam local start-api` does, without Docker. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))

from fanfetch.errors import ConfigurationError  # after the path above, like the Lambda task root
from fanfetch.handler import lambda_handler
from fanfetch.settings import Settings, get_settings

API_TIMEOUT_S = 29.0


class ApiContext:
    """The Lambda context of one API invocation, with API Gateway's 29 s as the function's time."""

    function_name = "fanfetch"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fanfetch"
    log_group_name = "/aws/lambda/fanfetch"
    log_stream_name = "local"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._end = time.monotonic() + API_TIMEOUT_S

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


def to_event(request: web.Request, body: bytes) -> dict[str, Any]:
    """An HTTP API payload v2 event, the shape API Gateway sends."""
    try:
        text, encoded = body.decode(), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    now = time.time()
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query_string,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": request.host.split(".", 1)[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": f"HTTP/{request.version.major}.{request.version.minor}",
                "sourceIp": request.remote or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }
    if request.query:
        # API Gateway joins repeated parameters with commas here; the raw string keeps them apart.
        event["queryStringParameters"] = {name: ",".join(request.query.getall(name)) for name in request.query}
    return event


def to_response(result: dict[str, Any]) -> web.Response:
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    headers = {k: v for k, v in (result.get("headers") or {}).items() if k.lower() != "content-length"}
    response = web.Response(status=int(result.get("statusCode", 200)), body=payload, headers=headers)
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


def make_app() -> web.Application:
    # One invocation at a time, as one Lambda execution environment handles them.
    lock = threading.Lock()

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        with lock:
            return lambda_handler(event, ApiContext())  # type: ignore[arg-type]

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        result = await asyncio.to_thread(invoke, to_event(request, body))
        return to_response(result)

    app = web.Application(client_max_size=10 * 1024 * 1024)  # API Gateway's own payload limit
    # Any path, a decoded newline included (`.` would stop at one), reaches the function, as API Gateway sends it.
    app.router.add_route("*", r"/{tail:[\s\S]*}", handle)
    return app


def banner(base: str, settings: Settings) -> str:
    """What answers here: the job routes only where the function has a bucket and a state machine to use."""
    routes = [f"POST {base}/fetch", f"GET  {base}/fetch?url=...", f"GET  {base}/openapi"]
    unset = [name for name in ("RESULTS_BUCKET", "JOBS_STATE_MACHINE_ARN") if not getattr(settings, name)]
    if unset:
        note = f"jobs are off here ({' and '.join(unset)} unset); `make jobs-demo` runs a job locally"
    else:
        routes += [f"POST {base}/jobs", f"GET  {base}/jobs/{{id}}"]
        note = f"jobs: s3://{settings.RESULTS_BUCKET}, {settings.JOBS_STATE_MACHINE_ARN}"
    return "\n".join(["Serving the function as API Gateway (HTTP API v2) would, no auth:", *routes, note])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        raise SystemExit(f"serve: {exc}") from None
    print(banner(f"http://127.0.0.1:{args.port}", settings), flush=True)
    web.run_app(make_app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
