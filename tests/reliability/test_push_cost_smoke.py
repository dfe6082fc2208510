"""The in-process cost bench stays runnable and says where a push's time goes."""

import os

import pytest

from bench import push_cost


@pytest.mark.slow
def test_push_cost_bench_reports_cpu_and_statements(capsys):
    before = dict(os.environ)
    status = push_cost.main(
        ["--devices", "4", "--pairs", "6", "--batch", "10", "--statements", "--profile", "push", "--top", "15"]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "in app     push" in out and "of PostgreSQL CPU per push and its pull" in out, out
    # The merge's one upsert of the batch is among the statements timed.
    assert "INSERT INTO sync_records" in out, out
    assert "sync.py" in out and "(push)" in out, out  # the profile of the push route
    assert dict(os.environ) == before  # the settings it set for its app are gone again
