"""The pretraining recipe: corpus → tokenizer → token file → model → streamed plan → THE loop → artifact.

    >>> pretrain(["shakespeare.txt"], "runs/char", PretrainConfig(objective="clm", tokenizer="char"))

The output is a plain transformers directory (``AutoModelForCausalLM`` / ``AutoModelForMaskedLM`` and
``AutoTokenizer`` load it; safetensors only) with ``manifest.json``: the resolved settings, each corpus
file's sha256, tokens seen, validation loss and perplexity per evaluation, tokens/s, MFU, time and cost.
An MLM artifact is also a valid ``lmforge finetune --model DIR``.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from lmforge.artifacts import library_versions, read_manifest, write_manifest
from lmforge.metering import Meter
from lmforge.data.corpus import PackedBlocks, jieba_word_starts, tokenize_corpus
from lmforge.errors import ConfigError
from lmforge.pretraining.config import TOKENIZER_KINDS, PretrainConfig
from lmforge.pretraining.models import build_model
from lmforge.pretraining.objectives import block_stream, validation_scorer
from lmforge.tasks import get_task
from lmforge.training.checkpoint import latest_checkpoint
from lmforge.training.loop import LoopSettings, TrainingPlan
from lmforge.training.loop import train as run_loop

EVAL_BATCH = 64  # validation blocks per forward pass
TASK_OF_OBJECTIVE = {"mlm": "masked-lm", "clm": "causal-lm"}
NEW_EMBEDDINGS_LR_SCALE = 10.0  # --extend-vocab: the embedding matrix learns at 10 × lr


@dataclass
class PretrainResult:
    output: Path
    metrics: dict
    manifest: dict


def prepare_output(output: Path, resume: bool, overwrite: bool) -> None:
    if resume:
        return
    if overwrite:
        shutil.rmtree(output / "checkpoints", ignore_errors=True)
        shutil.rmtree(output / "data", ignore_errors=True)
    elif (output / "checkpoints" / "latest").exists():
        raise ConfigError(f"{output} holds an interrupted run; pass --resume to continue it, or --overwrite "
                          "to start again")
    elif (output / "manifest.json").exists():
        raise ConfigError(f"{output} already holds a model; choose another --output or pass --overwrite")
    output.mkdir(parents=True, exist_ok=True)


def check_resume_config(output: Path, cfg: PretrainConfig, corpus: list[str]) -> None:
    saved = read_manifest(output / "checkpoints")
    wanted = {"config": cfg.to_dict(), "corpus": [str(c) for c in corpus]}
    if saved and {k: saved.get(k) for k in wanted} != wanted:
        changed = sorted(k for k in cfg.to_dict() if saved.get("config", {}).get(k) != cfg.to_dict()[k])
        raise ConfigError(f"--resume with different settings or corpus than the interrupted run "
                          f"({', '.join(changed) or 'corpus'}); resume with the same ones, or pass --overwrite")


def prepare_tokenizer(cfg: PretrainConfig, corpus: list[str], output: Path, quiet: bool):
    """The run's tokenizer: the model's own (--from-model), a directory, or one trained on the corpus
    (kept in OUTPUT/data/tokenizer, so a resumed run reuses it: training breaks ties differently per run)."""
    from lmforge.models.pretrained import load_tokenizer
    from lmforge.pretraining.tokenizer_training import train_tokenizer

    if cfg.from_model:
        return continued_tokenizer(cfg, corpus, output / "data" / "tokenizer", quiet)
    kind = cfg.tokenizer or ("wordpiece" if cfg.objective == "mlm" else "bpe")
    if kind not in TOKENIZER_KINDS:
        if not (Path(kind) / "tokenizer.json").exists():
            raise ConfigError(f"--tokenizer {kind} is neither a directory holding tokenizer.json nor one of "
                              f"{', '.join(TOKENIZER_KINDS)}; train one with `lmforge tokenizer train`")
        return load_tokenizer(Path(kind)), {"source": kind}
    directory = output / "data" / "tokenizer"
    if not (directory / "tokenizer.json").exists():
        if not quiet:
            print(f"training a {kind} tokenizer on the corpus")
        train_tokenizer(corpus, directory, kind=kind, vocab_size=cfg.vocab_size, text_column=cfg.text_column,
                        encoding=cfg.encoding)
    tokenizer = load_tokenizer(directory)
    if cfg.objective == "mlm" and tokenizer.mask_token_id is None:
        raise ConfigError(f"--tokenizer {kind} has no [MASK] token; masked-LM needs wordpiece or unigram")
    return tokenizer, {"trained": kind, "vocab_size": len(tokenizer)}


def continued_tokenizer(cfg: PretrainConfig, corpus: list[str], directory: Path, quiet: bool):
    """The model's own tokenizer, extended with the corpus words it maps to [UNK] (see ``--extend-vocab``);
    kept in OUTPUT/data/tokenizer with what was added, so a resumed run reuses it."""
    from lmforge.data.corpus import corpus_texts
    from lmforge.models.pretrained import load_tokenizer, resolve_model_dir
    from lmforge.models.vocabulary import extend_vocabulary

    record = directory / "extension.json"
    if record.exists():
        return load_tokenizer(directory), json.loads(record.read_text())
    tokenizer = load_tokenizer(resolve_model_dir(cfg.from_model))
    extension = extend_vocabulary(tokenizer, corpus_texts(corpus, cfg.text_column, cfg.encoding), cfg.extend_vocab)
    if extension["extended"] and not quiet:
        print(f"{extension['unknown_share_before']:.0%} of the corpus's tokens are unknown to {cfg.from_model}'s "
              f"tokenizer: added {extension['added']:,} tokens (unknown now {extension['unknown_share_after']:.1%})")
    info = {"source": str(cfg.from_model), "vocab_size": len(tokenizer), **extension}
    tokenizer.save_pretrained(directory)
    record.write_text(json.dumps(info, indent=2))
    return tokenizer, info


def pretrain(corpus: list[str | Path], output: str | Path, config: PretrainConfig | None = None, *,
             resume: bool = False, overwrite: bool = False, quiet: bool = False) -> PretrainResult:
    """Pretrain (or continue pretraining) a masked or causal LM on ``corpus`` into ``output``."""
    from lmforge.metering.hardware import machine_profile
    from lmforge.threads import configure_threads
    from lmforge.training.finetune import make_accelerator

    cfg = (config or PretrainConfig()).resolved()
    if cfg.precision == "bf16" and cfg.objective == "mlm" and not torch.cuda.is_available():
        raise ConfigError("--precision bf16 with --objective mlm on a CPU took minutes a step where fp32 takes "
                          "seconds when measured (MiniLM, bench/RESULTS.md); use --precision fp32 (bf16 on a "
                          "CPU is for clm and fine-tuning)")
    accelerator = make_accelerator(cfg.precision)  # before the output is touched: it checks --precision
    corpus = [str(c) for c in corpus]
    output = Path(output)
    prepare_output(output, resume, overwrite)
    if resume:
        check_resume_config(output, cfg, corpus)
    threads = configure_threads(cfg.threads)
    checkpoint = latest_checkpoint(output / "checkpoints") if resume else None
    carried = json.loads((checkpoint / "state.json").read_text()).get("meter", {}) if checkpoint else {}

    with Meter(carried.get("wall_s", 0.0), carried.get("cpu_s", 0.0)) as meter:
        tokenizer, tokenizer_info = prepare_tokenizer(cfg, corpus, output, quiet)
        torch.manual_seed(cfg.seed)  # initialisation
        built = build_model(cfg, tokenizer)
        model, context = built.model, built.context
        separator = tokenizer.sep_token_id if cfg.objective == "mlm" else tokenizer.eos_token_id
        tokens = tokenize_corpus(corpus, tokenizer, output / "data", separator_id=separator,
                                 text_column=cfg.text_column, encoding=cfg.encoding,
                                 word_boundaries=jieba_word_starts if cfg.whole_word_masking else None,
                                 progress=not quiet)
        train_part, val_part = tokens.split(cfg.val_fraction)
        task = get_task(TASK_OF_OBJECTIVE[cfg.objective])
        objective = task.objective(context, tokenizer, cfg.seed, mask_probability=cfg.mask_probability,
                                   whole_words=cfg.whole_word_masking)
        blocks = PackedBlocks(train_part, objective.block_tokens, objective.stride)
        micro = cfg.batch_size // cfg.grad_accumulation
        tokens_per_step = cfg.batch_size * context  # clm: inputs (its extra target aside); mlm: [CLS] … [SEP]
        steps = cfg.max_steps or (math.ceil(cfg.max_tokens / tokens_per_step) if cfg.max_tokens
                                  else math.ceil(blocks.blocks_per_epoch / cfg.batch_size))
        flops_per_token = built.flops_per_token(cfg.mask_probability if cfg.objective == "mlm" else 1.0)
        # new token embeddings start at the mean of the old ones: at the encoder's rate they would barely move
        lr_scale = built.embedding_lr_scale(NEW_EMBEDDINGS_LR_SCALE) if tokenizer_info.get("extended") else None
        plan = TrainingPlan(model=model, loss=objective.loss, count=objective.count, tokens=objective.tokens,
                            stream=block_stream(objective, blocks, micro, cfg.seed),
                            evaluate=validation_scorer(objective, val_part, EVAL_BATCH, cfg.eval_batches),
                            metric=task.primary_metric, lower_is_better=task.lower_is_better,
                            flops_per_token=flops_per_token, lr_scale=lr_scale)
        profile = machine_profile()
        peak = (profile.get("gpu_fp32_gflops") if torch.cuda.is_available() else profile.get("fp32_gflops")) or 0.0
        if accelerator.is_main_process:
            (output / "checkpoints").mkdir(parents=True, exist_ok=True)
            write_manifest(output / "checkpoints", {"config": cfg.to_dict(), "corpus": corpus})
        settings = LoopSettings(epochs=1, lr=cfg.lr, weight_decay=cfg.weight_decay, warmup_ratio=cfg.warmup_ratio,
                                max_grad_norm=cfg.max_grad_norm, eval_every=cfg.eval_every or max(1, steps // 5),
                                patience=0, checkpoint_every=cfg.checkpoint_every, quiet=quiet, resume=resume,
                                grad_accumulation=cfg.grad_accumulation, max_steps=steps,
                                max_tokens=cfg.max_tokens or 0, peak_flops=peak * 1e9 * accelerator.num_processes,
                                adam_beta2=cfg.adam_beta2)
        torch.manual_seed(cfg.seed)  # dropout stream
        result = run_loop(plan, settings, output, accelerator, meter)
        raw = accelerator.unwrap_model(plan.model)
        raw.load_state_dict(result.best_weights, strict=False)
        if not accelerator.is_main_process:
            accelerator.wait_for_everyone()
            return PretrainResult(output, {}, {})
        built.save(output, tokenizer)

    counters = result.counters
    best = min(result.history, key=lambda h: h["val_loss"]) if result.history else {}
    tokens_s = counters["real_tokens"] / max(counters["train_time_s"], 1e-9)
    manifest = {
        "task": TASK_OF_OBJECTIVE[cfg.objective],
        "kind": "pretrained",
        "lmforge_task": "pretrain",
        "config": cfg.to_dict(),
        "model": {"architecture": type(raw).__name__, "context": context, **built.describe()},
        "tokenizer": tokenizer_info,
        "embedding_lr_scale": NEW_EMBEDDINGS_LR_SCALE if lr_scale else 1.0,
        "inputs": {"corpus": tokens.files, "tokens": len(tokens.tokens), "train_tokens": len(train_part.tokens),
                   "val_tokens": len(val_part.tokens), "val_split": f"last {cfg.val_fraction:.0%} of the token stream"},
        "metrics": {"val": {k: best[k] for k in ("val_loss", "perplexity") if k in best},
                    "best_step": best.get("step"), "history": result.history},
        "training": {"steps": counters["step"], "tokens_seen": counters["real_tokens"],
                     "tokens_per_s": round(tokens_s, 1), "train_loop_s": round(counters["train_time_s"], 2),
                     "flops_per_token": flops_per_token, "peak_flops": settings.peak_flops,
                     "mfu": round(tokens_s * flops_per_token / settings.peak_flops, 4) if settings.peak_flops else None,
                     "batch_size": cfg.batch_size, "grad_accumulation": cfg.grad_accumulation,
                     "tokens_per_step": tokens_per_step, "threads": threads, "processes": accelerator.num_processes,
                     "device": str(accelerator.device), "mixed_precision": accelerator.mixed_precision},
        **meter.report(cfg.price_per_hour),
        "versions": library_versions(),
    }
    write_manifest(output, manifest)
    shutil.rmtree(output / "checkpoints", ignore_errors=True)
    shutil.rmtree(output / "data", ignore_errors=True)
    accelerator.wait_for_everyone()
    return PretrainResult(output, manifest["metrics"]["val"], manifest)
