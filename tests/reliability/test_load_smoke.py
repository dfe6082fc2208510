"""The load bench stays runnable: a few devices for a few seconds, nothing lost or doubled."""

import pytest

from bench import load


@pytest.mark.slow
def test_load_bench_smoke(capsys):
    status = load.main(
        ["--devices", "6", "--seconds", "3", "--interval", "0.5", "--workers", "2", "--threads", "2", "--batch", "20"]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "lost               0" in out and "doubled            0" in out, out
    assert "push latency ms" in out, out
