"""The money arithmetic, the energy estimate and the meter, recomputed by hand."""

from __future__ import annotations

import time

import pytest

from lmforge.metering import meter as meter_module
from lmforge.costs import roi
from lmforge.metering.energy import estimate_energy
from lmforge.metering.meter import Meter, count_process_startup
from lmforge.metering.prices import HostedApiPrice


def test_per_million_monthly_break_even_and_roi():
    # 250 sentences/s on a $0.18/h machine: 900,000 predictions per $0.18 hour
    assert roi.usd_per_million(0.18, 250) == pytest.approx(0.2)
    assert roi.instances_needed(10_000, 250) == 1
    assert roi.instances_needed(250 * 86400 * 2.5, 250) == 3
    assert roi.monthly_serving_usd(0.18, 2) == pytest.approx(2 * 0.18 * 730)
    api = HostedApiPrice("api", 0.00015, 0.0006)
    per_request = roi.hosted_usd_per_request(api, 80, 3)
    assert per_request == pytest.approx(80 * 0.00015 / 1000 + 3 * 0.0006 / 1000)
    hosted = roi.monthly_hosted_usd(1_000_000, per_request)
    assert hosted == pytest.approx(1_000_000 * 365 / 12 * per_request)
    own = roi.monthly_serving_usd(0.18, 1)
    assert roi.break_even_months(5.0, own, hosted) == pytest.approx(5.0 / (hosted - own))
    assert roi.break_even_months(5.0, hosted + 1, hosted) is None
    assert roi.roi(5.0, own, hosted) == pytest.approx((12 * hosted - 5.0 - 12 * own) / (5.0 + 12 * own))
    assert roi.break_even_requests(1.0, 1e-6, 2e-6) == pytest.approx(1e6)


def test_backend_row_is_consistent():
    row = roi.backend_economics("torch", 100.0, 0.1, 2_000_000, 0.5, 2e-5)
    assert row["instances"] == 1  # 23 requests/s on a 100 sentences/s machine
    assert row["utilization"] == pytest.approx(2_000_000 / 86400 / 100)
    assert row["monthly_usd"] == pytest.approx(73.0)
    assert row["hosted_monthly_usd"] == pytest.approx(2_000_000 * 365 / 12 * 2e-5)


def test_energy_is_an_estimate_from_the_coefficients():
    e = estimate_energy(wall_s=3600, cpu_s=3600, hardware={"logical_cores": 2, "memory_gb": 4, "gpu": None})
    watts = (2 * (0.74 + 0.5 * (3.5 - 0.74)) + 4 * 0.392) * 1.135  # half of 2 vCPUs busy
    assert e["label"] == "estimate" and e["cpu_utilization"] == 0.5
    assert e["kwh"] == pytest.approx(watts / 1000)
    gpu = estimate_energy(3600, 0, {"logical_cores": 1, "memory_gb": 0, "gpu": {"name": "NVIDIA A100", "count": 2}})
    assert gpu["kwh"] == pytest.approx((0.74 + 800) * 1.135 / 1000)


def test_meter_report_recomputes_from_its_own_fields():
    with Meter(carried_wall_s=10.0) as m:
        time.sleep(0.05)
    report = m.report(price_per_hour=0.36)
    assert report["wall_s"] >= 10.05
    assert report["cost"]["usd"] == pytest.approx(report["wall_s"] / 3600 * 0.36)
    assert report["cost"]["price_basis"].startswith("given")
    assert report["energy"]["label"] == "estimate"
    priced = m.report(instance="aws/c7i.large")
    assert priced["cost"]["instance"] == "aws/c7i.large" and priced["cost"]["price_source"].startswith("https://")


def test_process_startup_is_charged_to_the_first_meter_only(monkeypatch):
    monkeypatch.setattr(meter_module, "_startup", None)
    count_process_startup()
    with Meter() as first:
        pass
    with Meter() as second:
        pass
    assert first.startup_s > 0 and first.wall_s >= first.startup_s  # this pytest process has run for a while
    assert second.startup_s == 0 and second.wall_s < 1
