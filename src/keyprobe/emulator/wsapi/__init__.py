"""The Spot WebSocket API (``/ws-api/v3``) of the emulator. Its unsettled behaviours are the
named settings in ``settings.py``."""

from keyprobe.emulator.wsapi.api import PATH, WsApi
from keyprobe.emulator.wsapi.settings import SignatureMode, WsSettings

__all__ = ["PATH", "SignatureMode", "WsApi", "WsSettings"]
