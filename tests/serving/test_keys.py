"""API keys: creation, 401s, rate limits and daily quotas (429 with headers), usage records, the CLI."""

from __future__ import annotations

import sqlite3

import pytest

import lmforge
from lmforge.cli import main
from lmforge.errors import ConfigError, ServingError
from lmforge.serving.app import create_app
from lmforge.serving.keys import DATABASE, KeyStore, parse_quota, parse_rate, usage_by_key
from lmforge.serving.server import check_can_serve, is_loopback
from lmforge.serving.settings import ServeConfig
from tests.serving.conftest import running_app


class FakeClock:
    def __init__(self, now: float = 1_790_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_parse_rate_and_quota():
    assert parse_rate("10/s") == (10, 1) and parse_rate("600 / min") == (600, 60) and parse_rate(None) is None
    assert parse_quota("10000/day") == 10000 and parse_quota("5") == 5
    for bad in ("10", "0/s", "ten/s", "5/week"):
        with pytest.raises(ConfigError, match="rate"):
            parse_rate(bad)
    with pytest.raises(ConfigError, match="quota"):
        parse_quota("-3/day")


def test_only_a_hash_is_stored_and_the_database_is_wal(tmp_path):
    store = KeyStore(tmp_path)
    key = store.create("acme", rate="10/s", quota="100/day")
    assert key.startswith("lmf_")
    raw = (tmp_path / DATABASE).read_bytes()
    assert key.encode() not in raw and key.split("_", 2)[2].encode() not in raw
    with sqlite3.connect(tmp_path / DATABASE) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(ConfigError, match="already exists"):
        store.create("acme")
    with pytest.raises(ConfigError, match="key name"):
        store.create("bad name!")
    assert store.list()[0] | {"created": None} == {
        "name": "acme", "key_prefix": key[:17] + "…", "rate": "10/s", "quota": "100/day", "created": None,
        "revoked": None, "today": {"requests": 0, "texts": 0, "tokens": 0}}


def test_wrong_missing_and_revoked_keys_are_401(tmp_path):
    store = KeyStore(tmp_path)
    key = store.create("acme")
    for bad in (None, "", "nonsense", key[:-1] + ("A" if key[-1] != "A" else "B"), "lmf_000000000000_" + "x" * 43):
        with pytest.raises(ServingError) as e:
            store.admit(bad, texts=1, tokens=3)
        assert e.value.status == 401
    assert store.admit(key, texts=1, tokens=3).name == "acme"
    store.revoke("acme")
    with pytest.raises(ServingError) as e:
        store.admit(key, texts=1, tokens=3)
    assert e.value.status == 401
    with pytest.raises(ConfigError, match="no active key"):
        store.revoke("acme")


def test_rate_limit_and_daily_quota_with_their_headers(tmp_path):
    clock = FakeClock()
    store = KeyStore(tmp_path, clock=clock)
    key = store.create("trial", rate="2/s", quota="5/day")
    first = store.admit(key, texts=2, tokens=10)
    assert first.headers["X-RateLimit-Remaining"] == "1" and first.headers["X-Quota-Remaining"] == "3"
    store.admit(key, texts=1, tokens=5)
    with pytest.raises(ServingError) as rate:
        store.admit(key, texts=1, tokens=5)
    assert rate.value.status == 429 and rate.value.headers["X-RateLimit-Remaining"] == "0"
    assert rate.value.headers["Retry-After"] == "1"
    clock.now += 1  # next window
    with pytest.raises(ServingError) as quota:
        store.admit(key, texts=3, tokens=5)  # 3 + 3 used > 5
    assert quota.value.status == 429 and quota.value.headers["X-Quota-Remaining"] == "2"
    assert 0 < int(quota.value.headers["X-Quota-Reset"]) <= 86400
    store.admit(key, texts=2, tokens=4)
    clock.now += 86400  # a new UTC day: the quota is back
    assert store.admit(key, texts=5, tokens=1).headers["X-Quota-Remaining"] == "0"
    usage = usage_by_key(tmp_path)
    assert [(u["requests"], u["texts"], u["tokens"]) for u in usage] == [(3, 5, 19), (1, 5, 1)]
    assert {u["key"] for u in usage} == {"trial"} and usage[0]["day"] < usage[1]["day"]


def test_usage_of_a_model_never_served_with_keys_is_empty(tmp_path):
    assert usage_by_key(tmp_path) == []


@pytest.mark.anyio
async def test_the_app_requires_a_key_as_soon_as_one_exists_and_records_usage(model_dir):
    app = create_app(model_dir)
    async with running_app(app) as client:
        open_ = await client.post("/v1/classify", json={"texts": ["good"]})
        key = KeyStore(model_dir).create("acme", rate="100/s", quota="3/day")
        app.state.serving.keys._keys_exist_cache = (-1.0, False)  # skip the 1 s cache instead of sleeping
        missing = await client.post("/v1/classify", json={"texts": ["good"]})
        wrong = await client.post("/predict", json={"inputs": "good"}, headers={"Authorization": "Bearer lmf_x"})
        ok = await client.post("/v1/classify", json={"texts": ["good", "bad"]}, headers={"Authorization": f"Bearer {key}"})
        ok_tei = await client.post("/predict", json={"inputs": "good"}, headers={"X-API-Key": key})
        over = await client.post("/v1/classify", json={"texts": ["good"]}, headers={"Authorization": f"Bearer {key}"})
        card = await client.get("/v1/model")
        metrics = (await client.get("/metrics")).text
    assert open_.status_code == 200
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert "API key" in missing.json()["error"] and wrong.status_code == 401
    assert ok.status_code == 200 and ok.headers["x-quota-remaining"] == "1"
    assert ok_tei.status_code == 200 and ok_tei.headers["x-quota-remaining"] == "0"
    assert over.status_code == 429 and over.headers["x-quota-remaining"] == "0" and "retry-after" in over.headers
    assert card.json()["auth_required"] is True
    assert 'lmforge_key_requests_total{key="acme"} 2.0' in metrics
    assert 'lmforge_key_texts_total{key="acme"} 3.0' in metrics
    [usage] = usage_by_key(model_dir)
    assert (usage["key"], usage["requests"], usage["texts"]) == ("acme", 2, 3) and usage["tokens"] >= 9


@pytest.mark.anyio
async def test_a_failed_inference_is_not_billed(model_dir):
    from lmforge.inference.predictor import Predictor

    predictor = Predictor.load(model_dir)
    predictor.backend.forward = lambda batch: (_ for _ in ()).throw(RuntimeError("down"))
    key = KeyStore(model_dir).create("acme")
    async with running_app(create_app(model_dir, predictor=predictor)) as client:
        r = await client.post("/v1/classify", json={"texts": ["good"]}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 500
    assert [(u["requests"], u["texts"], u["tokens"]) for u in usage_by_key(model_dir)] == [(0, 0, 0)]


def test_keys_cli_creates_lists_and_revokes(model_dir, capsys):
    assert main(["keys", "create", str(model_dir), "--name", "acme", "--rate", "10/s", "--quota", "10000/day"]) == 0
    key = capsys.readouterr().out.splitlines()[0]
    assert key.startswith("lmf_") and KeyStore(model_dir).admit(key, 1, 1).name == "acme"
    assert main(["keys", "list", str(model_dir)]) == 0
    listing = capsys.readouterr().out
    assert "acme" in listing and "10/s" in listing and "10000/day" in listing and key not in listing
    assert main(["keys", "revoke", str(model_dir), "acme"]) == 0
    assert main(["keys", "revoke", str(model_dir), "acme"]) == 2
    assert "no active key" in capsys.readouterr().err
    assert main(["keys", "create", str(model_dir), "--name", "x", "--rate", "fast"]) == 2


def test_no_keys_means_localhost_only_unless_forced(model_dir, tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    check_can_serve(model_dir, ServeConfig(host="127.0.0.1"))
    with pytest.raises(ConfigError, match="without API keys"):
        check_can_serve(model_dir, ServeConfig(host="0.0.0.0"))
    check_can_serve(model_dir, ServeConfig(host="0.0.0.0", allow_public=True))
    KeyStore(model_dir).create("acme")
    check_can_serve(model_dir, ServeConfig(host="0.0.0.0"))
    with pytest.raises(lmforge.ArtifactError, match="holds no model"):
        check_can_serve(tmp_path, ServeConfig())
