"""Supervised fine-tuning (instruction → response) of a causal LM: data → plan → THE loop → artifact.

    >>> finetune_sft("bitext.csv", "runs/support", SFTConfig(epochs=1, max_examples=800))
    >>> # runs/support: merged model (safetensors) + tokenizer with its chat template, adapter/ (peft),
    >>> #               manifest.json with held-out loss/perplexity, ROUGE-L, share ending with EOS, cost

The loss is the mean cross-entropy over each example's response tokens (prompts and the chat template's
scaffolding are masked), summed over the batch as :mod:`lmforge.training.loop` expects. LoRA (peft) on every
attention and MLP projection is the default; ``method="full"`` trains all weights. Batches are
length-bucketed (little padding, no packing across examples, so no example attends to another).
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lmforge.generation.sft_settings import SFTConfig
from lmforge.generation.sft_data import IGNORE, load_conversations, prompt_and_reference, tokenize_conversation

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def split_conversations(conversations: list, fraction: float, seed: int) -> tuple[list, list]:
    """(train, held out): a seeded shuffle, ``fraction`` held out (at least one)."""
    order = np.random.default_rng(seed).permutation(len(conversations)).tolist()
    held = max(1, int(round(fraction * len(conversations))))
    return [conversations[i] for i in order[held:]], [conversations[i] for i in order[:held]]


def response_loss(model, batch) -> torch.Tensor:
    """Σ over examples of the mean cross-entropy of their labelled (response) tokens."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    targets = batch["labels"][:, 1:]  # (B, T-1): token t+1 is predicted at t
    per_token = F.cross_entropy(logits.float().transpose(1, 2), targets, ignore_index=IGNORE, reduction="none")
    counts = (targets != IGNORE).sum(1).clamp(min=1)
    return (per_token.sum(1) / counts).sum()


def collate(examples: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    longest = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), longest), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), longest), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), longest), dtype=torch.long)  # by length, never by id (pad == EOS)
    for row, (ids, lab) in enumerate(examples):
        input_ids[row, :len(ids)] = torch.tensor(ids)
        labels[row, :len(lab)] = torch.tensor(lab)
        mask[row, :len(ids)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": mask}


@torch.no_grad()
def heldout_loss(model, examples, pad_id: int, batch_size: int = 8) -> dict[str, float]:
    model.eval()
    total, tokens = 0.0, 0
    device = next(model.parameters()).device
    for start in range(0, len(examples), batch_size):
        batch = {k: v.to(device) for k, v in collate(examples[start:start + batch_size], pad_id).items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
        targets = batch["labels"][:, 1:]
        total += float(F.cross_entropy(logits.float().transpose(1, 2), targets, ignore_index=IGNORE,
                                       reduction="sum"))
        tokens += int((targets != IGNORE).sum())
    loss = total / max(1, tokens)
    return {"neg_loss": -loss, "loss": loss, "perplexity": float(np.exp(min(loss, 50)))}


class RougeTokenizer:
    """Words for ROUGE: lower-cased runs of letters/digits, and each CJK character on its own (rouge-score's
    default tokenizer drops everything but a-z0-9, which scores every Chinese reply 0)."""

    pattern = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)

    def tokenize(self, text: str) -> list[str]:
        return self.pattern.findall(text.lower())


def generation_metrics(model, tokenizer, conversations, max_new_tokens: int, int8: bool = False) -> dict[str, float]:
    """ROUGE-L F1 of greedy replies against the references, and the share of replies ending with EOS."""
    from rouge_score import rouge_scorer

    from lmforge.generation.engine import GenerationEngine
    from lmforge.generation.sampling import SamplingParams

    engine = GenerationEngine(model, tokenizer, slots=1, max_len=2048, int8=int8)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=RougeTokenizer())
    scores, ended, samples = [], 0, []
    for messages in conversations:
        prompt, reference = prompt_and_reference(messages)
        chunks = list(engine.stream(engine.chat_ids(prompt), SamplingParams(max_tokens=max_new_tokens)))
        reply = "".join(c.text for c in chunks)
        ended += chunks[-1].eos
        scores.append(scorer.score(reference, reply)["rougeL"].fmeasure)
        if len(samples) < 3:
            samples.append({"prompt": prompt[-1]["content"][:200], "reply": reply[:400]})
    n = max(1, len(conversations))
    return {"rougeL": float(np.mean(scores)) if scores else 0.0, "ends_with_eos": ended / n,
            "generated": len(conversations), "samples": samples}


def finetune_sft(train: str | Path, output: str | Path, config: SFTConfig | None = None, *, quiet: bool = False,
                 overwrite: bool = False) -> dict:
    """Tune, evaluate and export; returns the manifest."""
    from transformers import AutoModelForCausalLM

    from lmforge.artifacts import library_versions, write_manifest
    from lmforge.metering import Meter
    from lmforge.data.batching import length_bucketed_batches
    from lmforge.generation.chat_template import ensure_chat_template
    from lmforge.generation.convert import resolve_chat_model
    from lmforge.models.pretrained import load_tokenizer, quiet_transformers
    from lmforge.training.finetune import choose_mixed_precision, make_accelerator, prepare_output
    from lmforge.training.loop import LoopSettings, TrainingPlan
    from lmforge.training.loop import train as run_loop

    cfg = (config or SFTConfig()).resolved()
    choose_mixed_precision(cfg.precision)  # a precision this machine lacks is refused before anything is deleted
    output = Path(output)
    prepare_output(output, resume=False, overwrite=overwrite)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    with Meter() as meter:
        base_dir = resolve_chat_model(cfg.model)
        tokenizer = load_tokenizer(base_dir)
        ensure_chat_template(tokenizer)
        conversations = load_conversations(train, cfg.prompt_column, cfg.response_column)
        train_conv, dev_conv = split_conversations(conversations, cfg.dev_fraction, cfg.seed)
        train_conv = train_conv[:cfg.max_examples]
        train_ex = [tokenize_conversation(tokenizer, c, cfg.max_length) for c in train_conv]
        dev_ex = [tokenize_conversation(tokenizer, c, cfg.max_length) for c in dev_conv]
        train_ex = [e for e in train_ex if any(x != IGNORE for x in e[1])]
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        torch.manual_seed(cfg.seed)
        with quiet_transformers():
            model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        dev_ex = dev_ex[:cfg.max_eval_examples]
        eval_dev = dev_ex[:min(len(dev_ex), 64)]  # the per-epoch score stays cheap
        if cfg.method == "lora":
            from peft import LoraConfig, TaskType, get_peft_model

            targets = [t for t in LORA_TARGETS if any(n.endswith(t) for n, _ in model.named_modules())]
            model = get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=cfg.lora_r,
                                                     lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                                     target_modules=targets or None))
        lengths = [len(ids) for ids, _ in train_ex]
        plan = TrainingPlan(model=model,
                            batches=lambda epoch: length_bucketed_batches(lengths, cfg.batch_size, cfg.seed, epoch),
                            collate=lambda idx: collate([train_ex[i] for i in idx], pad_id),
                            loss=response_loss, evaluate=lambda m: heldout_loss(m, eval_dev, pad_id),
                            metric="neg_loss")
        settings = LoopSettings(epochs=cfg.epochs, lr=cfg.lr, weight_decay=0.0, warmup_ratio=0.03, patience=0,
                                eval_every=cfg.eval_every,
                                checkpoint_every=10**9, quiet=quiet)
        started = time.perf_counter()
        accelerator = make_accelerator(cfg.precision)
        result = run_loop(plan, settings, output, accelerator, meter)
        train_s = time.perf_counter() - started
        model.load_state_dict(result.best_weights, strict=False)
        if cfg.method == "lora":
            model.save_pretrained(output / "adapter", safe_serialization=True)
            model = model.merge_and_unload()
        model.eval()
        metrics = heldout_loss(model, dev_ex, pad_id)
        metrics.pop("neg_loss")
        model.to("cpu")  # the generation engine and the export run on the CPU
        if cfg.eval_generate:
            metrics.update(generation_metrics(model, tokenizer, dev_conv[:cfg.eval_generate], cfg.max_new_tokens,
                                              cfg.eval_int8))
        model.save_pretrained(output, safe_serialization=True)
        tokenizer.save_pretrained(output)
    import shutil

    shutil.rmtree(output / "checkpoints", ignore_errors=True)
    manifest = {"task": "causal-lm", "kind": "sft", "name": output.name, "config": dataclasses.asdict(cfg),
                "base_model": str(base_dir), "data": {"train": str(train), "examples": len(train_ex),
                                                      "held_out": len(dev_conv),
                                                      "scored": len(dev_ex)},
                "metrics": {"heldout": metrics}, "history": result.history,
                "training": {"steps": result.counters["step"], "train_s": round(train_s, 1),
                             "tokens": result.counters["real_tokens"],
                             "tokens_per_s": round(result.counters["real_tokens"] / max(train_s, 1e-9), 1),
                             "device": str(accelerator.device), "mixed_precision": accelerator.mixed_precision},
                "wall_s": round(meter.wall_s, 1), "cost": meter.report(None).get("cost"),
                "versions": library_versions()}
    write_manifest(output, manifest)
    return manifest
