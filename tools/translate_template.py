"""template.yaml as plain CloudFormation, offline, so cfn-lint can check what SAM generates (IAM included).

`sam validate --lint` lints the template before the SAM transform, so the roles, policies and state machine that
SAM writes are never checked. This runs aws-sam-translator (which cfn-lint brings) with the parameters at their
defaults and AWS managed policies named without a call to IAM:
    python -m tools.translate_template template.yaml OUT.json && cfn-lint OUT.json
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from cfnlint.decode import decode
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "fanfetch",
}


class ManagedPolicies(dict[str, str]):
    """AWS managed policy ARNs by name, made up rather than looked up: nothing here may call IAM."""

    def __missing__(self, name: str) -> str:
        return f"arn:aws:iam::aws:policy/{name}"


def translate(template_path: Path) -> dict[str, Any]:
    template, errors = decode(str(template_path))
    if errors:
        raise SystemExit(f"{template_path}: {errors[0]}")
    document: dict[str, Any] = json.loads(json.dumps(template))  # plain dicts, no cfn-lint node types
    base = template_path.parent
    for resource in document.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            properties["CodeUri"] = "s3://bucket/code.zip"  # sam package would upload the folder
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(properties.get("DefinitionUri"), str):
            properties["Definition"] = json.loads((base / properties.pop("DefinitionUri")).read_text())
    # The translator asks boto3 for a region (only the name; it makes no call).
    os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO_PARAMETERS["AWS::Region"])
    translated: dict[str, Any] = Translator(ManagedPolicies(), Parser()).translate(
        document, parameter_values=dict(PSEUDO_PARAMETERS), feature_toggle=None
    )
    return translated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    translated = translate(args.template)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(translated, indent=1))
    print(f"{args.out}: {len(translated.get('Resources', {}))} resources")


if __name__ == "__main__":
    main()
