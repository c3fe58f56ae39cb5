"""``unmask serve``, the thin command: one line naming the extra when it is missing, the URL printed, a warning for
any host but this machine's, usage errors before the server starts."""

from __future__ import annotations

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed")


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """What uvicorn would have been asked to serve (the command returns at once instead of serving)."""
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    return calls


def test_prints_the_url_and_binds_this_machine_by_default(cli, started: list[dict]) -> None:
    res = cli("serve", "--port", "8123", "--workers", "1")
    assert res.exit_code == 0, res.stderr
    assert "http://127.0.0.1:8123/" in res.stderr and "warning" not in res.stderr
    assert started[0]["host"] == "127.0.0.1" and started[0]["port"] == 8123


def test_another_host_is_warned_about(cli, started: list[dict]) -> None:
    res = cli("serve", "--host", "0.0.0.0")
    assert res.exit_code == 0, res.stderr
    assert "warning: listening on 0.0.0.0: anyone" in res.stderr and started[0]["host"] == "0.0.0.0"


def test_without_the_extra_one_line_says_what_to_install(cli, started: list[dict], monkeypatch) -> None:
    import unmask.serve

    monkeypatch.setattr(unmask.serve, "missing", lambda: ["fastapi", "uvicorn"])
    res = cli("serve")
    assert res.exit_code == 2 and not started
    assert "pip install 'unmask[serve]'" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_an_unknown_model_is_a_usage_error_before_serving(cli, started: list[dict]) -> None:
    res = cli("serve", "--model", "no-such-model")
    assert res.exit_code == 2 and not started and "no-such-model" in res.stderr
