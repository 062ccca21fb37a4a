"""``keyprobe settle``: the open questions answered by the user's own key. Each question of the
settle catalogue (``harness/settle.py``) that the target and the keys given can answer is sent
once, and every exchange is recorded as a corpus (``harness/corpus.py``, the same format as
``pytest suites/ --record``); ``keyprobe conformance DIR`` then says whether the emulator
answers the same or which settings to change. Keys come from the environment as the suites
read them (``KEYPROBE_<PROFILE>_*`` of the profiles file's registered profiles); against the
emulator (the default target) keys are generated. Nothing is sent anywhere but the target."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the harness is imported when the command runs, not for --help
    from keyprobe.harness.credentials import Credentials
    from keyprobe.harness.facts import Options
    from keyprobe.harness.profiles import Profile
    from keyprobe.harness.run import Run
    from keyprobe.harness.sinks.corpus import CorpusWriter
    from keyprobe.harness.targets import Target

EXIT_USAGE, EXIT_TARGET, EXIT_INTERRUPTED = 2, 3, 130


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "settle",
        help="answer the emulator's open questions with your own key, recorded as a corpus",
        description="Send each open question that is safe on the target (a 10-character key, "
        "recvWindow 60000 and 60001, a microsecond timestamp, a missing signature, an unknown "
        "parameter, the removed /api/v3/userDataStream, HMAC session.logon, malformed WebSocket "
        "frames, an unknown WebSocket method, ...) and record the answers into DIR; then run "
        "keyprobe conformance DIR. Never places, cancels or withdraws anything.",
    )
    p.add_argument(
        "--target", default="emulator", help="emulator (default), testnet, demo, mainnet, or a URL"
    )
    p.add_argument("--allow-mainnet", action="store_true", help="needed for --target mainnet")
    p.add_argument(
        "--profiles",
        type=Path,
        default=Path("fixtures/profiles.toml"),
        help="profiles file naming the keys (default fixtures/profiles.toml); the registered "
        "profiles whose KEYPROBE_<PROFILE>_* variables are set answer",
    )
    p.add_argument(
        "--out", type=Path, default=Path("reports/settle"), help="corpus folder (reports/settle)"
    )
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        return settle(
            args.target,
            allow_mainnet=args.allow_mainnet,
            profiles=args.profiles,
            out=args.out,
            timeout=args.timeout,
        )
    except KeyboardInterrupt:
        # The corpus file is renamed on the way out: the answers recorded so far are kept.
        _say("keyprobe settle: stopped (Ctrl-C); any answers recorded so far are in the corpus")
        return EXIT_INTERRUPTED


def _say(line: str) -> None:
    from keyprobe.harness.redaction import REDACTOR

    sys.stderr.write(REDACTOR.text(line) + "\n")


@contextlib.contextmanager
def _session(
    target: Target, profiles: list[Profile], options: Options
) -> Iterator[tuple[Run, dict[str, Profile]]]:
    """The run the questions are asked in and, by declared name, the profile whose key
    answers (on the emulator, a generated key of the same shape)."""
    from keyprobe import replay
    from keyprobe.harness.orders import new_run_id
    from keyprobe.harness.run import Run, prepare_run
    from keyprobe.harness.sinks.corpus import key_shape

    if target.embedded:
        shapes = [key_shape(p) for p in profiles]
        with replay.emulator_run("exchange", shapes) as (run, by_shape):
            yield run, {p.name: by_shape[key_shape(p)] for p in profiles}
        return
    info = prepare_run(options, target, profiles, run_id=new_run_id(), seed=0, start_emulator=None)
    live = Run(info, profiles)
    try:
        yield live, {p.name: p for p in profiles}
    finally:
        live.close()


def _keys(
    run: Run, declared: list[Profile], acting: dict[str, Profile]
) -> list[tuple[Profile, Credentials]]:
    """The keys whose secrets are set (raises BadSecrets for a set but unusable one)."""
    from keyprobe.harness.credentials import MissingSecrets

    keys = []
    for profile in declared:
        with contextlib.suppress(MissingSecrets):
            keys.append((acting[profile.name], run.credentials(acting[profile.name])))
    return keys


def _ask_all(
    run: Run, keys: list[tuple[Profile, Credentials]], writer: CorpusWriter
) -> tuple[int, int]:
    """Every question a key and the target can answer, recorded; (asked, skipped)."""
    from keyprobe.harness import corpus, settle
    from keyprobe.harness.run import seeded_faker
    from keyprobe.harness.sinks.corpus import key_shape
    from keyprobe.harness.targets import Transport

    asked = skipped = 0
    for question in settle.QUESTIONS:
        fit = [
            (p, c)
            for p, c in keys
            if question.key_type in (None, p.key_type)
            and (question.permission is None or p.has(question.permission))
        ]
        if not fit:
            needs = " ".join(str(n) for n in (question.key_type, question.permission) if n)
            _say(f"  {question.id}: skipped, needs a key with {needs}")
            skipped += 1
            continue
        if question.needs_recipe and run.recipe is None:
            _say(f"  {question.id}: skipped, no order recipe (the target's price or filters)")
            skipped += 1
            continue
        if question.transport is Transport.WS_API and run.target.ws_api_url is None:
            _say(f"  {question.id}: skipped, {run.target.name} has no WebSocket API")
            skipped += 1
            continue
        profile, creds = fit[0]
        sent = settle.ask(question, run, creds, seeded_faker(0, question.id))
        lines = [
            corpus.exchange_line(
                s.record,
                check=question.id,
                step=n,
                role="question",
                transport=question.transport.value,
                key=key_shape(profile),
                question=question.id,
            )
            for n, s in enumerate(sent)
        ]
        writer.write(lines)
        _say(f"  {question.id}: {sent[-1].answer.label()}")
        asked += 1
    return asked, skipped


def settle(
    target_spec: str, *, allow_mainnet: bool, profiles: Path, out: Path, timeout: float
) -> int:
    from keyprobe.harness import corpus, settle
    from keyprobe.harness.credentials import BadSecrets
    from keyprobe.harness.facts import Options
    from keyprobe.harness.probes import PROBE_NAMES
    from keyprobe.harness.profiles import KeyKind, ProfilesFileError, load_profiles
    from keyprobe.harness.run import RunError
    from keyprobe.harness.sinks.corpus import CorpusWriter
    from keyprobe.harness.targets import TargetError, resolve_target

    try:
        target = resolve_target(target_spec, allow_mainnet=allow_mainnet)
        loaded = load_profiles(profiles, PROBE_NAMES)
    except (TargetError, ProfilesFileError) as exc:
        _say(f"keyprobe settle: {exc}")
        return EXIT_USAGE
    declared = [p for p in loaded if p.kind is KeyKind.REGISTERED]
    options = Options(
        target=target_spec, profiles=str(profiles), allow_mainnet=allow_mainnet, timeout=timeout
    )
    _say(f"keyprobe settle: asking {len(settle.QUESTIONS)} open questions of {target.name}")
    with contextlib.ExitStack() as stack:
        try:
            run, acting = stack.enter_context(_session(target, declared, options))
            keys = _keys(run, declared, acting)
        except (RunError, BadSecrets) as exc:
            _say(f"keyprobe settle: {exc}")
            return EXIT_USAGE
        if not keys:
            names = ", ".join(f"{p.env_prefix}API_KEY" for p in declared) or "(none declared)"
            _say(
                f"keyprobe settle: no key to ask with: set one of {names} plus its _SECRET "
                f"(hmac) or _PRIVATE_KEY / _PRIVATE_KEY_FILE (rsa, ed25519); profiles: {profiles}"
            )
            return EXIT_USAGE
        if run.broken is not None:
            _say(f"keyprobe settle: the target cannot be used: {run.broken}")
            return EXIT_TARGET
        served = run.target
        line = corpus.run_line(
            served.name, run.surfaces, source="settle", ws_api=served.ws_api_url is not None
        )
        writer = CorpusWriter(out, "settle", line)
        try:
            asked, skipped = _ask_all(run, keys, writer)
        finally:
            writer.close()
    sys.stdout.write(
        f"keyprobe settle: {asked} question(s) answered, {skipped} skipped -> {writer.final}\n"
        f"next: keyprobe conformance {out}\n"
    )
    return 0
