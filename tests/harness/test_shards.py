"""``--shard K/N``: the partition itself (every cell on exactly one shard, by profile first,
deterministic), bad values as the one-line usage error, and ``--source-address`` reaching
the emulator as the address requests really leave from."""

from __future__ import annotations

import json
import re

import pytest

from keyprobe.harness.shards import Shard, ShardError, parse_shard, partition
from keyprobe.harness.targets import SPARE_FOREIGN_LOOPBACK, TargetError, resolve_target
from tests.harness.conftest import copy_suites
from tests.harness.test_config_errors import one_usage_error

ORDER_PROBES = {"place_order", "cancel_own_order"}


def cells_of(profiles: int, probes: tuple[str, ...]) -> list[tuple[str, str, str]]:
    return [(f"p{i}", probe, t) for i in range(profiles) for probe in probes for t in ("rest",)]


PROBES = ("account", "place_order", "cancel_own_order", "order_test", "ping", "time")


def touches(probe: str) -> bool:
    return probe in ORDER_PROBES


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 9, 12, 20])
def test_every_cell_is_on_exactly_one_shard(count: int) -> None:
    cells = cells_of(9, PROBES)
    shards = partition(cells, count, touches)
    assert len(shards) == count
    flat = [c for s in shards for c in s]
    assert sorted(flat) == sorted(cells) and len(flat) == len(set(flat))
    # Each shard keeps the declared order, so a shard's matrix reads like the full one.
    for shard in shards:
        assert shard == [c for c in cells if c in set(shard)]


def _cost(shard: list[tuple[str, str, str]]) -> int:
    return sum(2 if touches(probe) else 1 for _, probe, _ in shard)


@pytest.mark.parametrize(("profiles", "count"), [(9, 4), (11, 4), (11, 2), (3, 2), (9, 1)])
def test_a_profiles_order_cells_stay_together_and_the_shards_cost_alike(
    profiles: int, count: int
) -> None:
    # Whole profiles leave shards a profile apart (11 on 4: three against two); cells that
    # place no order move until the shards' estimated requests are within one request.
    cells = cells_of(profiles, PROBES)
    shards = partition(cells, count, touches)
    for profile in {c[0] for c in cells}:
        holding = {i for i, s in enumerate(shards) for c in s if c[0] == profile and touches(c[1])}
        assert len(holding) == 1, f"{profile}'s order cells are spread over shards {holding}"
    costs = [_cost(s) for s in shards]
    assert max(costs) - min(costs) <= 1, costs
    if profiles >= 2 * count:  # most profiles are still on one shard each
        split = {
            p
            for p in {c[0] for c in cells}
            if len({i for i, s in enumerate(shards) for c in s if c[0] == p}) > 1
        }
        assert len(split) < profiles / 2, split


def test_more_shards_than_profiles_split_a_profile_but_not_its_order_cells() -> None:
    cells = cells_of(2, PROBES)
    shards = partition(cells, 4, touches)
    assert all(shards)  # nobody idle
    for profile in ("p0", "p1"):
        holding = {i for i, s in enumerate(shards) for c in s if c[0] == profile and touches(c[1])}
        assert len(holding) == 1, f"{profile}'s order cells are spread over shards {holding}"


def test_a_profiles_order_cells_are_never_split_however_many_shards() -> None:
    # Two shards placing orders with one key would each sweep the other's resting orders at
    # start (they have different run ids): a shard with nothing to do is the lesser evil.
    cells = cells_of(2, PROBES)
    shards = partition(cells, 12, touches)
    for profile in ("p0", "p1"):
        holding = {i for i, s in enumerate(shards) for c in s if c[0] == profile and touches(c[1])}
        assert len(holding) == 1, f"{profile}'s order cells are spread over shards {holding}"


def test_the_partition_is_deterministic() -> None:
    cells = cells_of(9, PROBES)
    assert partition(cells, 3, touches) == partition(list(cells), 3, touches)


@pytest.mark.parametrize(
    ("text", "shard"), [("1/2", Shard(1, 2)), ("2/2", Shard(2, 2)), (" 3/4 ", Shard(3, 4))]
)
def test_good_shards(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0/2", "K must be 1-2"),
        ("3/2", "K must be 1-2"),
        ("1/0", "N must be 1 or more"),
        ("x", "expected K/N"),
        ("1/", "expected K/N"),
        ("-1/2", "expected K/N"),
    ],
)
def test_bad_shards(text: str, fragment: str) -> None:
    with pytest.raises(ShardError, match=fragment):
        parse_shard(text)


@pytest.mark.parametrize("value", ["0/2", "3/2", "x", "1/0"])
def test_a_bad_shard_is_one_usage_error(pytester: pytest.Pytester, value: str) -> None:
    copy_suites(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider", "--shard", value)
    one_usage_error(result, f"--shard {value!r}" if value == "x" else f"--shard {value}")


def test_source_address_moves_the_foreign_address_out_of_its_way() -> None:
    target = resolve_target("http://127.0.0.1:9", source_address="127.0.0.2")
    assert (target.source_address, target.foreign_address) == ("127.0.0.2", SPARE_FOREIGN_LOOPBACK)
    target = resolve_target("emulator", source_address="127.0.0.3")
    assert (target.source_address, target.foreign_address) == ("127.0.0.3", "127.0.0.2")
    with pytest.raises(TargetError, match="not an IP address"):
        resolve_target("emulator", source_address="localhost")
    with pytest.raises(TargetError, match="foreign address too"):
        resolve_target("testnet", source_address="10.0.0.5", egress_address="10.0.0.5")


def test_a_shard_runs_its_cells_only_and_says_so(pytester: pytest.Pytester) -> None:
    """Against the embedded emulator: shard 2/3's cells, deselected others, and run.json."""
    copy_suites(pytester)
    args = ("-p", "no:cacheprovider", "-n", "0", "--transport", "rest", "-k", "read")
    result = pytester.runpytest(*args, "--shard", "2/3")
    out = result.stdout.str()
    assert result.ret == 0, out
    assert "keyprobe shard: 2/3:" in out
    run = json.loads((pytester.path / "reports" / "run.json").read_text())
    matrix = json.loads((pytester.path / "reports" / "matrix.json").read_text())
    assert run["shard"]["index"] == 2 and run["shard"]["count"] == 3
    # The split's estimate of this shard's cells (every cell the embedded emulator runs
    # sends one request or more) and the digest merge compares.
    assert run["shard"]["estimated_requests"] >= run["shard"]["cells"] > 0
    assert re.fullmatch(r"[0-9a-f]{16}", run["shard"]["partition"])
    assert f"(an estimated {run['shard']['estimated_requests']} requests)" in out
    assert {c["profile"] for c in matrix["cells"]} == set(run["declared_profiles"])
    environment = pytester.path / "reports" / "allure-results" / "environment.properties"
    assert "Shard=2/3" in environment.read_text()
    assert result.parseoutcomes()["deselected"] > 0


def test_the_source_address_is_where_requests_come_from(pytester: pytest.Pytester) -> None:
    """ip_bound is bound to 127.0.0.1: from 127.0.0.5 the emulator refuses it (-2015), which
    the expectation (derived from the source address) predicts, so the cells still pass."""
    copy_suites(pytester)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-n", "0", "--transport", "rest",
        "-k", "ip_bound and account", "--source-address", "127.0.0.5",
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()
    cells = json.loads((pytester.path / "reports" / "matrix.json").read_text())["cells"]
    [cell] = [c for c in cells if c["probe"] == "account"]
    assert cell["actual"] == {"status": 401, "code": -2015}, cell
    assert "not 127.0.0.5" in cell["reason"]
