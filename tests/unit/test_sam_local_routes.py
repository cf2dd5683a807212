"""What `sam local start-api` and `sam local invoke` see in the built template, read through SAM CLI's own code.

Needs `make build` first (`.aws-sam/build/template.yaml`); `make test` does that.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.cfn_api_provider import CfnApiProvider
from samcli.lib.providers.provider import Stack
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samtranslator.yaml_helper import yaml_parse

# SAM CLI itself calls deprecated samtranslator and jsonschema APIs; that is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]
BUILT_TEMPLATE = ROOT / ".aws-sam" / "build" / "template.yaml"
SERVED_ROUTES = {("POST", "/fetch"), ("GET", "/fetch"), ("GET", "/openapi"), ("POST", "/jobs"), ("GET", "/jobs/{id}")}
AUTH_PARAMETERS = {
    "IAM": {},
    "JWT": {"ApiAuth": "JWT", "JwtIssuer": "https://issuer.example/", "JwtAudience": "fanfetch"},
}


def _stacks(template: Path = BUILT_TEMPLATE, parameters: dict[str, str] | None = None) -> list[Stack]:
    assert template.exists(), "no built template: run `make build`"
    stacks, _ = SamLocalStackProvider.get_stacks(str(template), parameter_overrides=parameters or {})
    return list(stacks)


def _routes(stacks: list[Stack]) -> dict[tuple[str, str], tuple[str, str | None]]:
    # As `sam local start-api` builds them, with its default of reading authorizers.
    (api,) = ApiProvider(stacks, disable_authorizer=False).get_all()
    return {
        (method, route.path): (route.function_name, route.payload_format_version)
        for route in api.routes
        for method in route.methods
    }


@pytest.mark.parametrize("auth", sorted(AUTH_PARAMETERS))
def test_sam_local_serves_every_route_only_because_the_api_resources_come_first(auth: str) -> None:
    # Given the built template
    stacks = _stacks(parameters=AUTH_PARAMETERS[auth])
    # When SAM CLI collects the routes start-api would serve
    routes = _routes(stacks)
    # Then every route reaches the function with payload format 2.0
    assert set(routes) == SERVED_ROUTES
    assert set(routes.values()) == {("FanfetchFunction", "2.0")}


def test_sam_local_reads_the_api_resources_because_one_comes_before_any_function() -> None:
    assert isinstance(ApiProvider.find_api_provider(_stacks()), CfnApiProvider)


def test_sam_local_sees_no_route_when_the_function_comes_first(tmp_path: Path) -> None:
    # Given the built template with the function moved to the top, as resources added later might do
    template = yaml_parse(BUILT_TEMPLATE.read_text())
    function = template["Resources"].pop("FanfetchFunction")
    template["Resources"] = {"FanfetchFunction": function, **template["Resources"]}
    reordered = tmp_path / "template.yaml"
    reordered.write_text(json.dumps(template))
    # Then SAM CLI reads only SAM APIs and start-api would have nothing to serve
    assert _routes(_stacks(reordered)) == {}


def test_sam_local_invoke_runs_the_built_handler() -> None:
    function = SamFunctionProvider(_stacks(parameters={"Architecture": "x86_64"})).get("FanfetchFunction")
    assert function is not None
    assert function.runtime == "python3.13"
    assert function.architecture == "x86_64"
    module, _, name = (function.handler or "").rpartition(".")
    handler = Path(function.codeuri or "") / (module.replace(".", "/") + ".py")
    assert f"def {name}(" in handler.read_text()
