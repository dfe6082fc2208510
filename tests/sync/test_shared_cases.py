"""The server side of the cases the app is tested against too (tests/fixtures/protocol-cases.json)."""

import json
from pathlib import Path

import pytest

from sync.hlc import Clock
from sync.records import Register, _wins, canonical_json

CASES = json.loads((Path(__file__).parents[1] / "fixtures" / "protocol-cases.json").read_text(encoding="utf-8"))
STAMP = "1764147600000-0000-00000000000000aa"


@pytest.mark.parametrize("case", CASES["ties"], ids=lambda c: c["why"])
def test_a_tie_goes_to_the_greater_canonical_json(case):
    a, b = Register(case["a"], STAMP), Register(case["b"], STAMP)
    winner = {(True, False): "b", (False, True): "a", (False, False): "same"}[(_wins(b, a), _wins(a, b))]
    assert winner == case["winner"]


@pytest.mark.parametrize("case", CASES["canonical"], ids=lambda c: c["json"])
def test_canonical_json_is_one_text(case):
    assert canonical_json(case["value"]) == case["json"]


@pytest.mark.parametrize("case", CASES["hlc"], ids=lambda c: c["why"])
def test_clock_steps(case):
    clock = Clock(CASES["node"], now_ms=lambda: case["now"], last=case["last"])
    stamp = clock.tick() if case["op"] == "tick" else clock.receive(case["remote"])
    assert stamp == case["expect"]
