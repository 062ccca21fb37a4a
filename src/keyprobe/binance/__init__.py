"""The wire contract shared by emulator and harness: endpoints, errors, permissions, signing."""
