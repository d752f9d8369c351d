"""The price table: every entry sourced and dated, user overrides, and which price a run is charged at."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lmforge.metering import prices
from lmforge.metering.prices import default_quote, hosted_api, price_table, resolve_price
from lmforge.errors import ConfigError

SHIPPED = yaml.safe_load((Path(prices.__file__).with_name("prices.yaml")).read_text())


def test_every_shipped_price_has_a_source_and_a_date():
    assert len(SHIPPED["instances"]) >= 10
    assert any(e.get("gpus") for e in SHIPPED["instances"].values())  # GPU machines too
    for name, entry in [*SHIPPED["instances"].items(), *SHIPPED["hosted_apis"].items()]:
        assert entry["source"].startswith("http"), name
        assert str(entry["as_of"])[:2] == "20", name
    assert prices.validate_table(SHIPPED, "shipped") == []


def test_price_precedence_user_price_then_instance_then_hardware_class(monkeypatch):
    monkeypatch.delenv("LMFORGE_INSTANCE", raising=False)
    assert resolve_price(0.5, "aws/c7i.large").usd_per_hour == 0.5
    quote = resolve_price(instance="aws/c7i.xlarge")
    assert quote.usd_per_hour == SHIPPED["instances"]["aws/c7i.xlarge"]["usd_per_hour"]
    assert quote.source == SHIPPED["instances"]["aws/c7i.xlarge"]["source"]
    monkeypatch.setenv("LMFORGE_INSTANCE", "gcp/n2-standard-2")
    assert resolve_price().usd_per_hour == SHIPPED["instances"]["gcp/n2-standard-2"]["usd_per_hour"]


def test_a_machine_outside_the_table_is_priced_per_vcpu_or_per_gpu():
    cpu = SHIPPED["instances"][SHIPPED["defaults"]["cpu"]]
    quote = default_quote({"logical_cores": 6, "gpu": None})
    assert quote.usd_per_hour == pytest.approx(cpu["usd_per_hour"] / cpu["vcpus"] * 6, rel=1e-4)
    gpu = SHIPPED["instances"][SHIPPED["defaults"]["gpu"]]
    quote = default_quote({"logical_cores": 16, "gpu": {"name": "NVIDIA H100", "count": 2}})
    assert quote.usd_per_hour == pytest.approx(gpu["usd_per_hour"] / gpu["gpus"] * 2, rel=1e-4)


def test_unknown_instance_names_the_known_ones():
    with pytest.raises(ConfigError, match="unknown instance 'aws/c7i.huge'.*did you mean.*aws/c7i.large"):
        resolve_price(instance="aws/c7i.huge")


def test_user_table_overrides_and_adds(tmp_path, monkeypatch):
    user = tmp_path / "prices.yaml"
    user.write_text(yaml.safe_dump({"instances": {"aws/c7i.large": {"usd_per_hour": 0.07},
                                                  "onprem/box": {"usd_per_hour": 0.02, "vcpus": 8}},
                                    "hosted_apis": {"mine/llm": {"usd_per_1k_input_tokens": 0.001,
                                                                 "usd_per_1k_output_tokens": 0.002}}}))
    monkeypatch.setenv("LMFORGE_PRICES", str(user))
    assert resolve_price(instance="aws/c7i.large").usd_per_hour == 0.07
    box = resolve_price(instance="onprem/box")
    assert box.usd_per_hour == 0.02 and box.source == str(user)
    assert hosted_api("mine/llm").usd_per_1k_output_tokens == 0.002
    assert "aws/g5.xlarge" in price_table()["instances"]  # the rest of the shipped table is still there


def test_a_broken_user_table_reports_every_problem_at_once(tmp_path, monkeypatch):
    user = tmp_path / "prices.yaml"
    user.write_text(yaml.safe_dump({"instances": {"a": {"usd_per_hour": -1}, "b": {"usd_per_hour": "cheap"},
                                                  "c": {"usd_per_hour": 1, "vcpus": 0}},
                                    "hosted_apis": {"d": {"usd_per_1k_input_tokens": 0.1}}}))
    monkeypatch.setenv("LMFORGE_PRICES", str(user))
    with pytest.raises(ConfigError) as e:
        price_table()
    assert len(e.value.problems) == 4
    assert all(str(user) in p for p in e.value.problems)


def test_hosted_price_given_on_the_command_line():
    api = hosted_api(usd_per_1k_tokens=0.002)
    assert api.usd_per_1k_input_tokens == api.usd_per_1k_output_tokens == 0.002
    assert hosted_api().name == SHIPPED["default_hosted_api"]
    with pytest.raises(ConfigError, match="known: "):
        hosted_api("nobody/llm")
