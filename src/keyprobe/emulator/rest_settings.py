"""REST's settings: a view of the answers ``binance-spot-auth.md`` leaves unsettled ([rest] in
the one table, ``binance/unsettled_table.py``; the values in ``binance/behaviour.toml``).
``RestSettings.of(behaviour)`` is the view of a ``Behaviour``."""

from __future__ import annotations

from dataclasses import dataclass

from keyprobe.binance.unsettled import DEFAULT, Behaviour


@dataclass(frozen=True, slots=True)
class RestSettings:
    missing_key_code: int
    malformed_key_code: int
    short_key_code: int
    unknown_key_code: int
    timestamp_before_signature: bool
    recv_window_over_max_code: int
    recv_window_max_inclusive: bool
    accepts_microseconds: bool
    missing_signature_code: int
    unknown_param_code: int
    removed_stream_status: int
    rejected_ip_suffix: bool

    @classmethod
    def of(cls, behaviour: Behaviour) -> RestSettings:
        def integer(name: str) -> int:
            return behaviour.integer(f"rest.{name}")

        def flag(name: str) -> bool:
            return behaviour.flag(f"rest.{name}")

        return cls(
            missing_key_code=integer("missing_key_code"),
            malformed_key_code=integer("malformed_key_code"),
            short_key_code=integer("short_key_code"),
            unknown_key_code=integer("unknown_key_code"),
            timestamp_before_signature=flag("timestamp_before_signature"),
            recv_window_over_max_code=integer("recv_window_over_max_code"),
            recv_window_max_inclusive=flag("recv_window_max_inclusive"),
            accepts_microseconds=flag("accepts_microseconds"),
            missing_signature_code=integer("missing_signature_code"),
            unknown_param_code=integer("unknown_param_code"),
            removed_stream_status=integer("removed_stream_status"),
            rejected_ip_suffix=flag("rejected_ip_suffix"),
        )


DEFAULT_REST = RestSettings.of(DEFAULT)
