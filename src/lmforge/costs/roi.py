"""The money arithmetic of ``lmforge cost``, as small pure functions (the tests recompute each one).

    >>> usd_per_million(price_per_hour=0.18, sentences_per_s=250)
    0.2
    >>> hosted_usd_per_request(HostedApiPrice("api", 0.00015, 0.0006), input_tokens=80, output_tokens=3)
    1.38e-05
"""

from __future__ import annotations

import math

from lmforge.metering.prices import HOURS_PER_MONTH, HostedApiPrice

DAYS_PER_MONTH = HOURS_PER_MONTH / 24  # 30.42
ROI_HORIZON_MONTHS = 12


def usd_per_million(price_per_hour: float, sentences_per_s: float) -> float:
    """$ per 1M predictions on a machine at ``price_per_hour`` kept busy at ``sentences_per_s``."""
    return price_per_hour / 3600 / sentences_per_s * 1e6


def instances_needed(requests_per_day: float, sentences_per_s: float) -> int:
    """Machines to serve the day's requests at the measured rate (at least one: a service is always on)."""
    return max(1, math.ceil(requests_per_day / 86400 / sentences_per_s))


def monthly_serving_usd(price_per_hour: float, instances: int) -> float:
    """Always-on machines for a month."""
    return instances * price_per_hour * HOURS_PER_MONTH


def hosted_usd_per_request(api: HostedApiPrice, input_tokens: float, output_tokens: float) -> float:
    return input_tokens / 1000 * api.usd_per_1k_input_tokens + output_tokens / 1000 * api.usd_per_1k_output_tokens


def monthly_hosted_usd(requests_per_day: float, usd_per_request: float) -> float:
    return requests_per_day * DAYS_PER_MONTH * usd_per_request


def break_even_months(training_usd: float, monthly_own: float, monthly_hosted: float) -> float | None:
    """Months until training plus serving costs less than the hosted API; None when it never does."""
    saving = monthly_hosted - monthly_own
    if saving <= 0:
        return None
    return training_usd / saving


def break_even_requests(training_usd: float, own_usd_per_request: float, hosted_per_request: float) -> float | None:
    """Requests after which the marginal saving per request has paid for training (busy machines)."""
    saving = hosted_per_request - own_usd_per_request
    if saving <= 0:
        return None
    return training_usd / saving


def roi(training_usd: float, monthly_own: float, monthly_hosted: float, months: int = ROI_HORIZON_MONTHS) -> float:
    """(what the hosted API would cost - what owning costs) / what owning costs, over ``months``."""
    own = training_usd + monthly_own * months
    return (monthly_hosted * months - own) / own


def backend_economics(name: str, sentences_per_s: float, price_per_hour: float, requests_per_day: float,
                      training_usd: float, hosted_per_request: float) -> dict:
    """Every figure of one backend's row in the cost report."""
    per_million = usd_per_million(price_per_hour, sentences_per_s)
    instances = instances_needed(requests_per_day, sentences_per_s)
    monthly = monthly_serving_usd(price_per_hour, instances)
    hosted_monthly = monthly_hosted_usd(requests_per_day, hosted_per_request)
    return {
        "backend": name, "sentences_per_s": sentences_per_s, "usd_per_1m_predictions": per_million,
        "instances": instances, "monthly_usd": monthly,
        "utilization": requests_per_day / 86400 / (instances * sentences_per_s),
        "hosted_monthly_usd": hosted_monthly,
        "break_even_months": break_even_months(training_usd, monthly, hosted_monthly),
        "break_even_requests": break_even_requests(training_usd, per_million / 1e6, hosted_per_request),
        "roi_12_months": roi(training_usd, monthly, hosted_monthly),
    }
