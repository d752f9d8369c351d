"""`lmforge cost`: each figure recomputed independently from the manifest and the price table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lmforge.artifacts import read_manifest
from lmforge.cli import main
from lmforge.metering import prices
from lmforge.metering.hardware import hardware_info
from lmforge.costs.report import CostSettings, cost_report
from lmforge.errors import ConfigError

TABLE = yaml.safe_load(Path(prices.__file__).with_name("prices.yaml").read_text())


def test_manifest_carries_training_cost_energy_and_the_baseline(tiny_run):
    m = read_manifest(tiny_run)
    cpu = TABLE["instances"][TABLE["defaults"]["cpu"]]
    price = round(cpu["usd_per_hour"] / cpu["vcpus"] * hardware_info()["logical_cores"], 5)  # this machine's class
    assert m["cost"]["price_per_hour"] == pytest.approx(price)
    assert m["cost"]["usd"] == pytest.approx(m["wall_s"] / 3600 * price)
    assert m["cost"]["cpu_s"] == m["cpu_s"] > 0
    k = TABLE["energy"]
    hw = m["hardware"]
    util = min(1.0, m["cpu_s"] / (m["wall_s"] * hw["logical_cores"]))
    watts = (hw["logical_cores"] * (k["vcpu_watts_idle"] + util * (k["vcpu_watts_full"] - k["vcpu_watts_idle"]))
             + hw["memory_gb"] * k["memory_watts_per_gb"]) * k["pue"]
    assert m["energy"]["label"] == "estimate"
    assert m["energy"]["kwh"] == pytest.approx(watts * m["wall_s"] / 3.6e6, rel=1e-3)

    base = m["baseline"]
    assert 0.5 <= base["accuracy"] <= 1.0 and base["dev_rows"] == m["inputs"]["dev"]["rows"]
    assert base["cost_usd"] == pytest.approx(base["train_wall_s"] / 3600 * price, rel=0.05, abs=1e-7)
    assert base["usd_per_1m_predictions"] == pytest.approx(price / 3600 / base["predictions_per_s"] * 1e6)


def test_cost_report_figures_recomputed_from_manifest_and_table(tiny_run, tmp_path):
    settings = CostSettings(instance="aws/c7i.xlarge", requests_per_day=3_000_000, benchmark_seconds=1.0,
                            prompt_tokens=50, output_tokens=2)
    report = cost_report(tiny_run, settings, tmp_path / "cost")
    m = read_manifest(tiny_run)
    price = TABLE["instances"]["aws/c7i.xlarge"]["usd_per_hour"]
    api = TABLE["hosted_apis"][TABLE["default_hosted_api"]]

    assert report["training"]["usd"] == m["cost"]["usd"]
    (row,) = report["backends"]  # a torch directory: one backend
    sps = m["throughput"]["torch"]["sentences_per_s"]  # the benchmark was recorded in the manifest
    assert row["backend"] == "torch" and row["sentences_per_s"] == sps > 0
    assert row["usd_per_1m_predictions"] == pytest.approx(price / (sps * 3600) * 1e6)
    machines = -(-3_000_000 // int(sps * 86400)) if sps * 86400 < 3_000_000 else 1
    assert row["instances"] >= machines
    assert row["monthly_usd"] == pytest.approx(row["instances"] * price * 730)

    # token counts from the data, counted again here with the model's tokenizer
    from transformers import AutoTokenizer

    texts = [line.split(",", 1)[0] for line in Path(m["inputs"]["dev"]["path"]).read_text().splitlines()[1:]]
    tok = AutoTokenizer.from_pretrained(tiny_run)
    mean = sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts) / len(texts)
    assert report["tokens"]["mean_text_tokens"] == pytest.approx(mean)
    per_request = (mean + 50) / 1000 * api["usd_per_1k_input_tokens"] + 2 / 1000 * api["usd_per_1k_output_tokens"]
    assert report["hosted"]["usd_per_request"] == pytest.approx(per_request)
    hosted_monthly = 3_000_000 * 365 / 12 * per_request
    assert report["hosted"]["monthly_usd"] == pytest.approx(hosted_monthly)
    saving = hosted_monthly - row["monthly_usd"]
    expected = m["cost"]["usd"] / saving if saving > 0 else None
    assert row["break_even_months"] == (pytest.approx(expected) if expected else None)
    own_year = m["cost"]["usd"] + 12 * row["monthly_usd"]
    assert row["roi_12_months"] == pytest.approx((12 * hosted_monthly - own_year) / own_year)
    base = report["baseline"]
    assert base["usd_per_1m_predictions_here"] == pytest.approx(price / 3600 / base["predictions_per_s"] * 1e6)

    out = Path(report["output"])
    assert json.loads((out / "cost.json").read_text())["backends"][0]["usd_per_1m_predictions"] == row["usd_per_1m_predictions"]
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "Accuracy vs cost" in page
    assert (out / "accuracy_vs_cost.png").stat().st_size > 5000

    again = cost_report(tiny_run, settings, tmp_path / "cost2")  # the recorded throughput is reused
    assert again["backends"][0]["throughput"]["recorded"] is True
    assert again["backends"][0]["usd_per_1m_predictions"] == row["usd_per_1m_predictions"]


def test_cost_command_prints_the_table(tiny_run, tmp_path, capsys):
    assert main(["cost", str(tiny_run), "--price-per-hour", "0.5", "--requests-per-day", "1000",
                 "--hosted-price-per-1k-tokens", "0.001", "--output", str(tmp_path / "c"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "$/1M pred" in out and "fine-tuned, torch" in out and "TF-IDF + LR baseline" in out
    assert "serving price: $0.5/h (given by the user" in out
    assert (tmp_path / "c" / "report.html").exists()


def test_bad_cost_settings_are_reported_together(tiny_run):
    with pytest.raises(ConfigError) as e:
        cost_report(tiny_run, CostSettings(requests_per_day=0, prompt_tokens=-1, data="/no/such/file"))
    assert len(e.value.problems) == 3
