"""How a recorded answer (status, code, msg) turns into the value of an unsettled setting
that reproduces it (``Entry.from_answer`` in ``unsettled_table.py``); None: the answer says
nothing about the question (another stage refused it, or it is not the question's kind)."""

from __future__ import annotations

from collections.abc import Callable

Value = bool | int | str | None
# (status, code, msg) of one recorded answer -> the setting's value, or None: says nothing.
FromAnswer = Callable[[int, int | None, str | None], Value]


def read_code(status: int, code: int | None, msg: str | None) -> Value:
    return code


def read_status(status: int, code: int | None, msg: str | None) -> Value:
    return status


def accepted(*refusals: int) -> FromAnswer:
    """A bool question "is X accepted?": a 2xx says yes, one of ``refusals`` says no, any other
    answer (a refusal at another stage) says nothing."""

    def read(status: int, code: int | None, msg: str | None) -> Value:
        if 200 <= status < 300:
            return True
        return False if code in refusals else None

    return read


def code_if(*codes: int) -> FromAnswer:
    """The code, when it is one the question is about (another stage's refusal says nothing)."""

    def read(status: int, code: int | None, msg: str | None) -> Value:
        return code if code in codes else None

    return read


def msg_of(code: int) -> FromAnswer:
    def read(status: int, code_: int | None, msg: str | None) -> Value:
        if code_ != code or msg is None:
            return None
        return msg.split(", request ip:")[0]

    return read


def ip_suffix(status: int, code: int | None, msg: str | None) -> Value:
    return None if code != -2015 or msg is None else ", request ip:" in msg


def filter_name(status: int, code: int | None, msg: str | None) -> Value:
    prefix = "Filter failure: "
    return msg[len(prefix) :] if code == -1013 and msg and msg.startswith(prefix) else None


def signature_order(status: int, code: int | None, msg: str | None) -> Value:
    # Sent with both a bad signature and a stale timestamp: which one came back.
    return {-1021: True, -1022: False}.get(code or 0)


def lenient(status: int, code: int | None, msg: str | None) -> Value:
    # A percent-encoded payload's signature: accepted means lenient.
    if 200 <= status < 300:
        return "lenient"
    return "strict" if code == -1022 else None
