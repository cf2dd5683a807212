"""The structured logger, created once per execution environment."""

from __future__ import annotations

from aws_lambda_powertools.logging import Logger

# Service name and level come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL (set in template.yaml).
logger = Logger(service="fanfetch")
