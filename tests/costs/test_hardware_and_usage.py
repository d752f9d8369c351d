"""`lmforge hardware` (measured, cached profile) and `lmforge usage` (per-key cost share)."""

from __future__ import annotations

import json

import pytest

from lmforge.cli import main
from lmforge.metering.hardware import machine_profile
from lmforge.costs.usage import usage_report


def test_profile_is_measured_once_then_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("LMFORGE_CACHE_DIR", str(tmp_path))
    first = machine_profile(seconds=0.2)
    assert first["cached"] is False and first["fp32_gflops"] > 0.5
    assert first["logical_cores"] >= 1 and first["memory_gb"] > 0 and first["cpu_model"]
    second = machine_profile()
    assert second["cached"] is True and second["fp32_gflops"] == first["fp32_gflops"]
    assert machine_profile(refresh=True, seconds=0.2)["cached"] is False


def test_hardware_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LMFORGE_CACHE_DIR", str(tmp_path))
    assert main(["hardware", "--json", "--seconds", "0.2", "--instance", "aws/c7i.large"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert profile["fp32_gflops"] > 0 and profile["price"]["instance"] == "aws/c7i.large"
    assert main(["hardware"]) == 0
    out = capsys.readouterr().out
    assert "GFLOP/s" in out and "cached" in out  # the second call reads the profile the first one measured


def test_usage_shares_the_bill_by_tokens(tmp_path):
    rows = [{"key": "acme", "day": "2026-11-22", "requests": 10, "texts": 30, "tokens": 600},
            {"key": "acme", "day": "2026-11-23", "requests": 5, "texts": 10, "tokens": 200},
            {"key": "beta", "day": "2026-11-23", "requests": 20, "texts": 20, "tokens": 200}]
    report = usage_report(tmp_path, price_per_hour=0.1, rows=rows)
    assert report["bill_usd"] == pytest.approx(2 * 24 * 0.1)
    acme, beta = report["keys"]
    assert (acme["key"], acme["requests"], acme["texts"], acme["tokens"]) == ("acme", 15, 40, 800)
    assert acme["share"] == pytest.approx(0.8) and beta["share"] == pytest.approx(0.2)
    assert acme["usd"] + beta["usd"] == pytest.approx(report["bill_usd"])


def test_usage_reads_what_the_server_recorded(tmp_path, capsys):
    keys = pytest.importorskip("lmforge.serving.keys")
    assert usage_report(tmp_path, price_per_hour=0.1)["keys"] == []  # never served with keys: nothing to bill
    store = keys.KeyStore(tmp_path, clock=lambda: 1_763_900_000.0)  # a fixed UTC day
    acme, beta = store.create("acme"), store.create("beta")
    for key, texts, tokens in ((acme, 3, 60), (acme, 1, 20), (beta, 2, 20)):
        store.admit(key, texts, tokens)
    store.close()
    report = usage_report(tmp_path, price_per_hour=0.1)
    assert [(k["key"], k["requests"], k["texts"], k["tokens"]) for k in report["keys"]] == [("acme", 2, 4, 80),
                                                                                          ("beta", 1, 2, 20)]
    assert report["bill_usd"] == pytest.approx(24 * 0.1)
    assert report["keys"][0]["usd"] == pytest.approx(0.8 * 24 * 0.1)
    assert main(["usage", str(tmp_path), "--price-per-hour", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "acme" in out and "80.0%" in out and "$1.92" in out
