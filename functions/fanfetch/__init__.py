"""fanfetch: fetch many URLs concurrently from AWS Lambda, one result per URL."""

__version__ = "1.0.0"
