"""Where alerts go: one small class per channel, each with `send(message) -> Delivery`."""
