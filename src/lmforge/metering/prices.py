"""Prices: the shipped table of cloud machines and hosted LLM APIs, a user's overrides, and which price a
run is charged at.

    >>> quote = resolve_price(instance="aws/c7i.xlarge")
    >>> quote.usd_per_hour, quote.source
    (0.1785, 'https://aws.amazon.com/ec2/pricing/on-demand/ (us-east-1)')
    >>> resolve_price(price_per_hour=0.5).basis
    'given by the user (--price-per-hour)'

The table is ``prices.yaml`` beside this file. A YAML file of the same shape at ``$LMFORGE_PRICES`` or
``~/.config/lmforge/prices.yaml`` overrides entries or adds machines; ``LMFORGE_INSTANCE`` names the machine
lmforge runs on when no ``--instance`` is given.
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from lmforge.errors import ConfigError

SHIPPED_TABLE = Path(__file__).with_name("prices.yaml")
USER_TABLE = Path("~/.config/lmforge/prices.yaml")
HOURS_PER_MONTH = 730.0  # 24 * 365 / 12


@dataclass(frozen=True)
class PriceQuote:
    """The price a piece of work is charged at, and why."""

    usd_per_hour: float
    instance: str | None
    basis: str
    source: str | None = None
    as_of: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HostedApiPrice:
    name: str
    usd_per_1k_input_tokens: float
    usd_per_1k_output_tokens: float
    source: str | None = None
    as_of: str | None = None


def user_table_path() -> Path | None:
    env = os.environ.get("LMFORGE_PRICES")
    if env:
        path = Path(env).expanduser()
        if not path.exists():
            raise ConfigError(f"LMFORGE_PRICES points at {path}, which does not exist; fix the path or unset it")
        return path
    path = USER_TABLE.expanduser()
    return path if path.exists() else None


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} should hold a mapping with 'instances' and/or 'hosted_apis', got {type(data).__name__}")
    return data


def validate_table(table: dict, origin: str) -> list[str]:
    """Every problem in a price table, as messages naming the entry."""
    problems = []
    for name, entry in (table.get("instances") or {}).items():
        if not isinstance(entry, dict):
            problems.append(f"{origin}: instance '{name}' should be a mapping with usd_per_hour, got {entry!r}")
            continue
        price = entry.get("usd_per_hour")
        if not isinstance(price, (int, float)) or price <= 0:
            problems.append(f"{origin}: instance '{name}' needs a positive usd_per_hour, got {price!r}")
        if not isinstance(entry.get("vcpus", 1), int) or entry.get("vcpus", 1) < 1:
            problems.append(f"{origin}: instance '{name}' has vcpus {entry.get('vcpus')!r}; give a positive integer")
    for name, entry in (table.get("hosted_apis") or {}).items():
        for key in ("usd_per_1k_input_tokens", "usd_per_1k_output_tokens"):
            value = entry.get(key) if isinstance(entry, dict) else None
            if not isinstance(value, (int, float)) or value < 0:
                problems.append(f"{origin}: hosted API '{name}' needs a non-negative {key}, got {value!r}")
    return problems


@functools.lru_cache(maxsize=4)
def _load(user_path: str | None) -> dict:
    table = _read_yaml(SHIPPED_TABLE)
    if user_path:
        user = _read_yaml(Path(user_path))
        problems = validate_table(user, user_path)
        if problems:
            raise ConfigError(problems)
        for section in ("instances", "hosted_apis"):
            for name, entry in (user.get(section) or {}).items():
                table.setdefault(section, {})[name] = {"source": user_path, "as_of": "user override", **entry}
        for key in ("defaults", "energy"):
            table[key] = {**table.get(key, {}), **(user.get(key) or {})}
        if "default_hosted_api" in user:
            table["default_hosted_api"] = user["default_hosted_api"]
    return table


def price_table() -> dict:
    """The shipped table merged with the user's overrides."""
    user = user_table_path()
    return _load(str(user) if user else None)


def instance(name: str) -> dict:
    instances = price_table()["instances"]
    if name not in instances:
        import difflib

        close = difflib.get_close_matches(name, list(instances), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ConfigError(f"unknown instance '{name}'; {hint}known: {', '.join(sorted(instances))}. "
                          "Add it to ~/.config/lmforge/prices.yaml, or pass --price-per-hour")
    return instances[name]


def quote_instance(name: str) -> PriceQuote:
    entry = instance(name)
    return PriceQuote(float(entry["usd_per_hour"]), name, f"on-demand price of {name}", entry.get("source"),
                      str(entry.get("as_of")) if entry.get("as_of") is not None else None)


def default_quote(hardware: dict) -> PriceQuote:
    """A price for a machine that matches no table entry: scaled from the table's default CPU or GPU."""
    table = price_table()
    gpu = hardware.get("gpu")
    if gpu:
        name = table["defaults"]["gpu"]
        entry = instance(name)
        per_gpu = entry["usd_per_hour"] / entry.get("gpus", 1)
        return PriceQuote(round(per_gpu * gpu["count"], 4), None,
                          f"{gpu['count']} x one GPU's share of {name} (${per_gpu:.4f}/GPU-hour)",
                          entry.get("source"), str(entry.get("as_of")))
    name = table["defaults"]["cpu"]
    entry = instance(name)
    per_vcpu = entry["usd_per_hour"] / entry.get("vcpus", 1)
    vcpus = hardware.get("logical_cores") or 1
    return PriceQuote(round(per_vcpu * vcpus, 5), None, f"{vcpus} vCPU at the per-vCPU rate of {name} "
                      f"(${per_vcpu:.5f}/vCPU-hour)", entry.get("source"), str(entry.get("as_of")))


def resolve_price(price_per_hour: float | None = None, instance: str | None = None,
                  hardware: dict | None = None) -> PriceQuote:
    """The price work is charged at: ``--price-per-hour``, else ``--instance`` (or ``$LMFORGE_INSTANCE``),
    else this machine's hardware class scaled from the table's defaults."""
    if price_per_hour is not None:
        if price_per_hour <= 0:
            raise ConfigError(f"price per hour must be positive, got {price_per_hour}")
        return PriceQuote(float(price_per_hour), instance, "given by the user (--price-per-hour)")
    name = instance or os.environ.get("LMFORGE_INSTANCE")
    if name:
        return quote_instance(name)
    if hardware is None:
        from lmforge.metering.hardware import hardware_info

        hardware = hardware_info()
    return default_quote(hardware)


def hosted_api(name: str | None = None, usd_per_1k_tokens: float | None = None) -> HostedApiPrice:
    """A hosted LLM API's token prices: ``usd_per_1k_tokens`` (input and output alike) or a table entry."""
    if usd_per_1k_tokens is not None:
        if usd_per_1k_tokens < 0:
            raise ConfigError(f"hosted price per 1k tokens must not be negative, got {usd_per_1k_tokens}")
        return HostedApiPrice(name or "hosted API (given price)", usd_per_1k_tokens, usd_per_1k_tokens,
                              "given by the user (--hosted-price-per-1k-tokens)")
    table = price_table()
    name = name or table["default_hosted_api"]
    apis = table.get("hosted_apis") or {}
    if name not in apis:
        raise ConfigError(f"unknown hosted API '{name}'; known: {', '.join(sorted(apis))}. Pass "
                          "--hosted-price-per-1k-tokens, or add it to ~/.config/lmforge/prices.yaml")
    e = apis[name]
    return HostedApiPrice(name, float(e["usd_per_1k_input_tokens"]), float(e["usd_per_1k_output_tokens"]),
                          e.get("source"), str(e.get("as_of")))
