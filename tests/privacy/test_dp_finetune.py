"""DP-SGD fine-tuning: the ε spent is recorded, the noise is calibrated to the budget, bad settings are refused."""

from __future__ import annotations

import math

import pytest

import lmforge
from lmforge.errors import ConfigError
from lmforge.training.privacy import poisson_batches
from tests.conftest import write_sentiment_csv

FAST = dict(batch_size=16, max_length=32, quiet=True, freeze_embeddings=False)


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory):
    return write_sentiment_csv(tmp_path_factory.mktemp("dp") / "train.csv", n=240)


@pytest.mark.parametrize("method,lr,epochs", [("head", 5e-2, 6), ("lora", 2e-2, 2)])
def test_dp_run_records_the_epsilon_spent(tmp_path, tiny_encoder, train_csv, method, lr, epochs):
    out = tmp_path / method
    result = lmforge.finetune(train_csv, out, model=str(tiny_encoder), method=method, lr=lr, epochs=epochs,
                              dp_epsilon=8.0, patience=0, **FAST)
    privacy = result.manifest["privacy"]
    n = result.manifest["inputs"]["train"]["rows"]
    assert privacy["delta"] == pytest.approx(1 / (n + 1))
    assert privacy["steps_taken"] == privacy["steps_planned"] == epochs * math.ceil(n / 16)
    # calibrated so that the planned steps spend the budget (Opacus' tolerance 0.01), and never more
    assert 7.8 <= privacy["epsilon_spent"] <= 8.0 + 1e-6, privacy
    assert privacy["noise_multiplier"] > 0.3 and privacy["sample_rate"] == pytest.approx(16 / n)
    assert result.manifest["baseline"] == {"skipped": "not trained in a DP-SGD run (it would not be private)"}
    assert (out / "model.safetensors").exists()
    assert lmforge.predict(out, ["the film was superb"])[0].label in ("pos", "neg")  # an ordinary artifact
    if method == "head":  # the evaluation report carries the guarantee
        metrics = lmforge.evaluate(out, train_csv)
        assert metrics["privacy"]["epsilon_spent"] == privacy["epsilon_spent"]
        assert "DP-SGD ε spent" in (out / "eval" / "train" / "report.html").read_text()


def test_more_budget_less_noise_and_the_accountant_agrees():
    from lmforge.training.privacy import PrivacyEngine

    sigma = {}
    for eps in (1.0, 3.0, 8.0):
        engine = PrivacyEngine(eps, 1e-5, 1.0, sample_rate=32 / 4000, steps=250, batch_size=32)
        sigma[eps] = engine.noise_multiplier
        for _ in range(250):  # what the optimizer hook records each step
            engine.accountant.step(noise_multiplier=engine.noise_multiplier, sample_rate=32 / 4000)
        assert eps - 0.02 <= engine.accountant.get_epsilon(1e-5) <= eps + 1e-6
    assert sigma[1.0] > sigma[3.0] > sigma[8.0]


@pytest.mark.parametrize("settings,message", [
    (dict(method="full"), "--method lora or head"),
    (dict(method="head", dp_delta=0.5), "not below 1/n"),
    (dict(method="head", batch_size=1000), "sampling rate would be 1"),
])
def test_refuses_what_it_cannot_account_for(tmp_path, tiny_encoder, train_csv, settings, message):
    with pytest.raises(ConfigError, match=message):
        lmforge.finetune(train_csv, tmp_path / "x", model=str(tiny_encoder), dp_epsilon=3.0,
                         **{**FAST, **settings})
    assert not (tmp_path / "x" / "model.safetensors").exists()


def test_refuses_resume_and_bad_values(tmp_path, tiny_encoder, train_csv):
    with pytest.raises(ConfigError, match="cannot --resume"):
        lmforge.finetune(train_csv, tmp_path / "r", model=str(tiny_encoder), method="head", dp_epsilon=3.0,
                         resume=True, **FAST)
    with pytest.raises(ConfigError, match="dp_epsilon must be positive"):
        lmforge.finetune(train_csv, tmp_path / "e", dp_epsilon=0.0)
    with pytest.raises(ConfigError, match="dp_delta is set but dp_epsilon is not"):
        lmforge.finetune(train_csv, tmp_path / "d", dp_delta=1e-5)


def test_poisson_batches_are_poisson_and_reproducible():
    batches = poisson_batches(1000, 50, seed=0, epoch=0)
    assert len(batches) == 20 and batches == poisson_batches(1000, 50, seed=0, epoch=0)
    assert batches != poisson_batches(1000, 50, seed=0, epoch=1)
    sizes = [len(b) for b in batches]
    assert len(set(sizes)) > 1 and 35 < sum(sizes) / len(sizes) < 65          # sizes vary around 50
    assert all(b == sorted(set(b)) for b in batches)                          # no repeats inside a batch


def test_sorted_poisson_batches_hold_the_same_rows_longest_first():
    lengths = [(i * 37) % 101 for i in range(1000)]
    plain, by_length = poisson_batches(1000, 50, 0, 0), poisson_batches(1000, 50, 0, 0, lengths)
    assert [sorted(b) for b in by_length] == plain
    assert all([lengths[i] for i in b] == sorted((lengths[i] for i in b), reverse=True) for b in by_length)


def test_micro_batches_of_a_poisson_batch_make_the_same_private_step():
    """Four micro-batches, each with its own mean loss, make the step of one backward over the batch: the
    same clipped and noised gradient, and one accountant entry at the batch's sample rate."""
    import torch
    import torch.nn.functional as F

    from lmforge.training.privacy import PrivacyEngine

    generator = torch.Generator().manual_seed(0)
    x, y = 10 * torch.randn(24, 5, generator=generator), torch.randint(0, 2, (24,), generator=generator)

    def private_step(parts: int):
        torch.manual_seed(0)
        model = torch.nn.Linear(5, 2)
        engine = PrivacyEngine(8.0, 1e-5, 1.0, sample_rate=24 / 1000, steps=10, batch_size=24)
        wrapped, optimizer = engine.attach(model, torch.optim.SGD(model.parameters(), lr=1.0))
        for rows in torch.arange(24).chunk(parts):
            F.cross_entropy(wrapped(x[rows]), y[rows]).backward()
        optimizer.step()
        return model.weight.detach().clone(), engine.accountant.history

    one, four = private_step(1), private_step(4)
    assert torch.allclose(one[0], four[0], atol=1e-6)
    assert one[1] == four[1] and four[1][0][1] == pytest.approx(24 / 1000)


def test_a_private_model_at_the_majority_share_is_called_out():
    from types import SimpleNamespace

    from lmforge.training.finetune import majority_warning

    dev = SimpleNamespace(describe=lambda: {"label_distribution": {"neg": 180, "pos": 220}})
    warning = majority_warning({"accuracy": 0.55}, dev, "lora")  # 220 / 400: always "pos"
    assert "always answering 'pos'" in warning and "--method head" in warning
    assert "--method head" not in majority_warning({"accuracy": 0.551}, dev, "head")
    assert majority_warning({"accuracy": 0.72}, dev, "lora") is None
    assert majority_warning({"f1": 0.1}, dev, "lora") is None  # not a single-label accuracy
