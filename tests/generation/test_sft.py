"""SFT on a tiny Llama: response-only labels that end with EOS, the three data formats, and a run through
THE loop into a merged model + adapter that the engine and the server load."""

from __future__ import annotations

import csv
import json

import pytest

from lmforge.generation.sft_data import IGNORE, load_conversations, tokenize_conversation


@pytest.fixture
def tokenizer(tiny_llama):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_llama)


def test_labels_cover_the_reply_and_its_eos_only(tokenizer):
    messages = [{"role": "user", "content": "ping"}, {"role": "assistant", "content": "pong"}]
    ids, labels = tokenize_conversation(tokenizer, messages, 512)
    learned = [i for i, lab in zip(ids, labels) if lab != IGNORE]
    assert tokenizer.decode(learned) == "pong<|im_end|>"
    assert learned[-1] == tokenizer.eos_token_id == tokenizer.pad_token_id  # EOS learned although it is the pad id
    prompt = tokenizer.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    assert tokenizer.decode(ids).startswith(prompt)


def test_rouge_tokens_keep_chinese_characters():
    from lmforge.generation.sft import RougeTokenizer

    assert RougeTokenizer().tokenize("细胞理论 is OK!") == ["细", "胞", "理", "论", "is", "ok"]


def test_alpaca_chat_jsonl_and_csv_are_read(tmp_path):
    alpaca = tmp_path / "a.json"
    alpaca.write_text(json.dumps([{"instruction": "Add", "input": "1+1", "output": "2"}]))
    chat = tmp_path / "c.jsonl"
    chat.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "hello"}]}) + "\n")
    table = tmp_path / "t.csv"
    with open(table, "w", newline="") as f:
        csv.writer(f).writerows([["instruction", "intent", "response"], ["cancel my order", "x", "Sure."]])
    assert load_conversations(alpaca)[0][0]["content"] == "Add\n\n1+1"
    assert load_conversations(chat)[0][1]["content"] == "hello"
    assert load_conversations(table)[0] == [{"role": "user", "content": "cancel my order"},
                                            {"role": "assistant", "content": "Sure."}]


def test_sft_learns_a_reply_that_ends_with_eos_through_the_cli(tiny_llama, tmp_path):
    from lmforge.cli import main
    from lmforge.generation.engine import GenerationEngine
    from lmforge.generation.sampling import SamplingParams

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"q{i % 4}", "input": "", "output": "ok"}) + "\n"
                            for i in range(40)))
    # Full fine-tuning here: a random tiny model learns the reply in a few steps; LoRA is tested below.
    code = main(["finetune", str(data), "--task", "sft", "--method", "full", "--model", str(tiny_llama), "--output",
                 str(tmp_path / "run"), "--epochs", "10", "--lr", "1e-2", "--quiet", "--batch-size", "8", "--threads", "1"])
    assert code == 0
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    heldout = manifest["metrics"]["heldout"]
    assert manifest["task"] == "causal-lm" and heldout["ends_with_eos"] == 1.0 and heldout["rougeL"] == 1.0
    engine = GenerationEngine.load(tmp_path / "run", slots=1, max_len=128)
    reply = list(engine.stream(engine.chat_ids([{"role": "user", "content": "q1"}]), SamplingParams(max_tokens=8)))
    assert "".join(c.text for c in reply) == "ok" and reply[-1].eos


def test_lora_is_the_default_and_exports_the_merged_model_and_the_adapter(tiny_llama, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from lmforge.generation.sft import SFTConfig, finetune_sft

    data = tmp_path / "train.json"
    data.write_text(json.dumps([{"instruction": f"say {i}", "input": "", "output": f"{i}"} for i in range(20)]))
    manifest = finetune_sft(data, tmp_path / "run", SFTConfig(model=str(tiny_llama), lr=1e-2, eval_generate=0, threads=1),
                            quiet=True)
    assert manifest["config"]["method"] == "lora" and manifest["metrics"]["heldout"]["perplexity"] > 1
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "run")
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_llama), tmp_path / "run" / "adapter")
    base = AutoModelForCausalLM.from_pretrained(tiny_llama)
    ids = torch.tensor([[5, 60, 70, 80]])
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, adapted(ids).logits, atol=1e-4)  # merged == unmerged
        assert not torch.allclose(merged(ids).logits, base(ids).logits, atol=1e-4)  # and it did train


def test_the_chinese_alpaca_demo_runs_end_to_end_on_a_tiny_model(tiny_llama, tmp_path):
    """The real alpaca_zh file (1,000 rows) through reading, the chat template, THE loop and evaluation; a
    tiny model and a few examples keep it fast (the quality run is bench/sft_bench.py)."""
    from lmforge.generation.sft import SFTConfig, finetune_sft
    from tests.conftest import shared_data

    data = shared_data("alpaca_demo", "alpaca_zh_demo.json")
    manifest = finetune_sft(data, tmp_path / "zh", SFTConfig(model=str(tiny_llama), max_examples=16, max_length=128,
                                                             eval_generate=2, max_new_tokens=8,
                                                             max_eval_examples=8, threads=1), quiet=True)
    # examples whose reply was cut off entirely by max_length are dropped (nothing to learn)
    assert manifest["data"]["held_out"] == 100 and 10 <= manifest["data"]["examples"] <= 16
    assert set(manifest["metrics"]["heldout"]) >= {"loss", "perplexity", "rougeL", "ends_with_eos"}


def test_precision_and_the_loss_curve_are_recorded_and_an_impossible_precision_deletes_nothing(tiny_llama, tmp_path):
    import torch

    from lmforge.metering.hardware import cpu_has_bf16
    from lmforge.errors import ConfigError
    from lmforge.generation.sft import SFTConfig, finetune_sft

    data = tmp_path / "train.json"
    data.write_text(json.dumps([{"instruction": f"say {i}", "input": "", "output": f"{i}"} for i in range(40)]))
    precision = "bf16" if cpu_has_bf16() else "fp32"
    manifest = finetune_sft(data, tmp_path / "run", SFTConfig(model=str(tiny_llama), batch_size=4, eval_every=3,
                                                              eval_generate=0, threads=1, precision=precision),
                            quiet=True)
    assert manifest["training"]["mixed_precision"] == ("bf16" if precision == "bf16" else "no")
    assert [h["step"] for h in manifest["history"]][:3] == [3, 6, 9]  # a held-out loss every 3 steps
    if torch.cuda.is_available():
        return
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "model.safetensors").write_text("old")
    with pytest.raises(ConfigError, match="fp16"):
        finetune_sft(data, tmp_path / "kept", SFTConfig(model=str(tiny_llama), precision="fp16"), overwrite=True)
    assert (tmp_path / "kept" / "model.safetensors").read_text() == "old"
