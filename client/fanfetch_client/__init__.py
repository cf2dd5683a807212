"""fanfetch's command-line client: SigV4-signed calls to a deployed stack's API."""
