"""The harness: key profiles, targets, probe catalogue, signed client and the pytest plugin."""
