"""Replaying a corpus on the embedded emulator: the emulator is started as the corpus's target
(the testnet flavor, where /sapi is absent, for a corpus whose target had no /sapi), with fresh
keys of each recorded key shape (kind, type, declared permissions, IP restriction), and every
recorded check is run again through the probe catalogue (``harness/check.py``, the suites' own
path) or, for a settle question, through the settle catalogue (``harness/settle.py``). What
comes back is each exchange's answer in the corpus's own terms (``corpus.answer_of``), so that
``conformance.py`` compares like with like."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from keyprobe.binance.permissions import Permission
from keyprobe.binance.signing import KeyMaterial, KeyType
from keyprobe.binance.unsettled import DEFAULT, Behaviour
from keyprobe.harness import corpus, settle
from keyprobe.harness.check import CheckInput, run_check
from keyprobe.harness.credentials import Credentials
from keyprobe.harness.facts import Options
from keyprobe.harness.orders import Ledger, new_run_id
from keyprobe.harness.probes import BY_NAME
from keyprobe.harness.profiles import KeyKind, Profile
from keyprobe.harness.redaction import ExchangeRecord
from keyprobe.harness.run import Run, prepare_run, seeded_faker
from keyprobe.harness.targets import Transport, resolve_target

# The replayed keys' IP policy when the recorded one was restricted: the replay's own source
# address, so the key is admitted as the recording's key was from the recording machine.
REPLAY_WHITELIST = ("127.0.0.1",)
# The Faker seed of a replay: fixed, so that two replays of a corpus send the same data.
REPLAY_SEED = 1212
# The embedded emulator's request weight per minute (as the suites' embedded target): a
# replay never waits for a weight window.
REPLAY_WEIGHT_PER_MINUTE = 1_000_000


def flavor_of(run_line: dict[str, Any]) -> str:
    """The emulator flavor that matches a corpus's target: ``testnet`` where /sapi was found
    absent (the Spot Testnet serves none of it), ``exchange`` otherwise."""
    sapi = str(run_line.get("surfaces", {}).get("sapi", ""))
    if run_line.get("target") == "testnet" or sapi.startswith("absent"):
        return "testnet"
    return "exchange"


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded check (or settle question): its exchanges, in order."""

    check: str
    lines: list[corpus.Line]

    @property
    def first(self) -> dict[str, Any]:
        return self.lines[0].data

    @property
    def key(self) -> corpus.KeyShape:
        return corpus.KeyShape.from_json(self.first["key"])


def recorded_checks(files: list[corpus.CorpusFile]) -> list[Recorded]:
    """The corpus's checks in the order recorded, each with its exchanges (a check recorded in
    two files, two workers or two runs, counts once per file)."""
    out: list[Recorded] = []
    for f in files:
        groups: dict[str, list[corpus.Line]] = {}
        for line in f.exchanges:
            groups.setdefault(str(line.data["check"]), []).append(line)
        out.extend(
            Recorded(check, sorted(lines, key=lambda ln: int(ln.data["step"])))
            for check, lines in groups.items()
        )
    return out


@dataclass(slots=True)
class Replayed:
    """What the emulator answered to one recorded check: each exchange as the corpus keeps
    it, or why the check could not be sent at all."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    unsent: str | None = None


def _profiles(shapes: list[corpus.KeyShape]) -> dict[corpus.KeyShape, Profile]:
    out: dict[corpus.KeyShape, Profile] = {}
    for n, shape in enumerate(dict.fromkeys(shapes), start=1):
        out[shape] = Profile(
            name=f"replay{n}",
            key_type=KeyType(shape.type),
            permissions=frozenset(Permission(p) for p in shape.permissions),
            ip_whitelist=REPLAY_WHITELIST if shape.ip_restricted else None,
            kind=KeyKind(shape.kind),
        )
    return out


Keys = list[tuple[Profile, Credentials, KeyMaterial]]


@contextmanager
def emulator_run(
    flavor: str, shapes: list[corpus.KeyShape], behaviour: Behaviour = DEFAULT
) -> Iterator[tuple[Run, dict[corpus.KeyShape, Profile]]]:
    """An embedded emulator of ``flavor`` and ``behaviour`` with a fresh key per shape, and
    the run the replayed checks run in; both stopped on leaving."""
    from keyprobe.emulator.app import Emulator
    from keyprobe.emulator.keys import KeyRecord
    from keyprobe.emulator.ratelimit import RateLimits, Window
    from keyprobe.emulator.server import EmulatorServer

    servers: list[EmulatorServer] = []

    def start(keys: Keys) -> tuple[str, str]:
        limits = replace(
            RateLimits.of(behaviour), request_weight=Window(REPLAY_WEIGHT_PER_MINUTE, 1, "M")
        )
        emulator = Emulator(flavor=flavor, limits=limits, behaviour=behaviour)
        for profile, creds, material in keys:
            emulator.keys.register(
                KeyRecord.create(
                    creds.api_key,
                    profile.key_type,
                    material.public,
                    sorted(profile.permissions),
                    ip_whitelist=None if profile.ip_whitelist is None else [*profile.ip_whitelist],
                )
            )
        server = EmulatorServer(emulator, host="127.0.0.1", port=0)
        servers.append(server)
        return server.start(), emulator.admin_token

    by_shape = _profiles(shapes)
    profiles = list(by_shape.values())
    options = Options(target="emulator", profiles="(corpus)", seed=REPLAY_SEED)
    try:
        info = prepare_run(
            options,
            resolve_target("emulator"),
            profiles,
            run_id=new_run_id(),
            seed=REPLAY_SEED,
            start_emulator=start,
        )
        run = Run(info, profiles)
        try:
            yield run, by_shape
        finally:
            run.close()
    finally:
        for server in servers:
            server.stop()


def replay(
    recorded: list[Recorded],
    flavor: str,
    behaviour: Behaviour = DEFAULT,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[Replayed]:
    """Each recorded check run again on a fresh emulator of ``flavor`` and ``behaviour``."""
    shapes = [r.key for r in recorded]
    out: list[Replayed] = []
    with emulator_run(flavor, shapes, behaviour) as (run, by_shape):
        if run.broken is not None:
            return [Replayed(unsent=f"the emulator could not be used: {run.broken}")] * len(
                recorded
            )
        for n, rec in zip(itertools.count(1), recorded, strict=False):
            out.append(_one(run, by_shape[rec.key], rec))
            if progress is not None:
                progress(n, len(recorded))
    return out


def _one(run: Run, profile: Profile, rec: Recorded) -> Replayed:
    first = rec.first
    question = first.get("question")
    if question is not None:
        asked = settle.BY_ID.get(str(question))
        if asked is None:
            return Replayed(unsent=f"no settle question {question} in this keyprobe")
        creds = run.credentials(profile)
        steps = settle.ask(asked, run, creds, seeded_faker(REPLAY_SEED, rec.check))
        return Replayed([_with_request(s.record) for s in steps])
    probe = BY_NAME.get(str(first.get("probe")))
    if probe is None:
        return Replayed(unsent=f"no probe {first.get('probe')} in this keyprobe")
    check = CheckInput(profile, probe, Transport(str(first["transport"])))
    ledger = Ledger(run.wire, run.target.source_address)
    try:
        result = run_check(run, check, seeded_faker(REPLAY_SEED, rec.check), ledger)
    finally:
        ledger.close()
    if not result.steps:
        return Replayed(unsent=f"not sent on the emulator: {result.summary()}")
    return Replayed([_with_request(step.record) for step in result.steps])


def _with_request(record: ExchangeRecord) -> dict[str, Any]:
    return {**corpus.answer_of(record), "request": f"{record.method} {record.path}"}
