"""The fine-tuning recipe: data → model → plan → THE loop → artifact, for any registered task.

The task (``--task``, default text-classification; :mod:`lmforge.tasks`) decides how rows are read, the
label space, the model head, encoding, batches, the loss and the dev metrics. Each method (full, lora,
head) only decides what the loop trains and what a batch holds; the loop, the evaluation and the export
are shared.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lmforge.adapters.head import first_token_states, freeze_backbone
from lmforge.adapters.lora import apply_lora, export_lora
from lmforge.artifacts import library_versions, read_manifest, save_classifier, write_manifest
from lmforge.config import SCARCE_HEAD_LR, FinetuneConfig
from lmforge.data.batching import length_bucketed_batches
from lmforge.data.examples import LabeledTexts
from lmforge.data.sources import find_split
from lmforge.data.splitting import stratified_split
from lmforge.data.truncation import encode_texts
from lmforge.models.vocabulary import extend_vocabulary, grow_embeddings, input_texts, train_only_new_rows
from lmforge.errors import ConfigError, DataError
from lmforge.evaluation.calibration import abstain_record, calibration_record, softmax
from lmforge.files import refuse_to_replace
from lmforge.inference.predictor import batched_logits
from lmforge.metering import Meter
from lmforge.metering.hardware import cpu_has_bf16
from lmforge.models.pretrained import load_tokenizer, resolve_model_dir, transformer_blocks, weights_sha256
from lmforge.tasks import get_task
from lmforge.threads import configure_threads
from lmforge.tracking import log_stage
from lmforge.training.adaptive import (BASE_MAX_LENGTH, MAX_EPOCHS, MIN_EPOCHS, adapt, apply_recipe, cap_steps,
                                      choose_truncation, covering_max_length, profile_texts)
from lmforge.training.checkpoint import latest_checkpoint
from lmforge.training.loop import LoopSettings, TrainingPlan
from lmforge.training.loop import train as run_loop

PREPARED_NAMES = ("train", "dev")
DATA_SUFFIXES = (".jsonl", ".csv", ".tsv", ".parquet")
NEW_ROWS_LR = SCARCE_HEAD_LR  # --extend-vocab's new embedding rows start untrained, like a new head


@dataclass
class FinetuneResult:
    output: Path
    metrics: dict
    manifest: dict


def resolve_inputs(train: str | Path, dev: str | Path | None) -> tuple[Path, Path | None]:
    """Accept a file, or a prepared directory holding train.* (and dev.*) from `lmforge data prepare`."""
    train = Path(train)
    if train.is_dir():
        found = {name: next((train / f"{name}{s}" for s in DATA_SUFFIXES if (train / f"{name}{s}").exists()), None)
                 for name in PREPARED_NAMES}
        if found["train"] is None:
            from lmforge.data.folders import DIRECTORY_HINT, folder_layout

            if folder_layout(train) is not None:  # label folders or label files: the directory is the source
                return train, Path(dev) if dev else None
            raise DataError("is a directory without a train file or labelled folders", path=train,
                            hint=DIRECTORY_HINT)
        return found["train"], Path(dev) if dev else found["dev"]
    return train, Path(dev) if dev else None


def split_dev(train: LabeledTexts, cfg: FinetuneConfig) -> tuple[LabeledTexts, LabeledTexts, dict]:
    fraction = min(cfg.dev_fraction, cfg.max_dev_rows / max(1, len(train)))
    kept, held = stratified_split(train.labels, fraction, cfg.seed)
    if not held:
        raise DataError(f"has only {len(train)} rows; too few to hold out a dev set", path=train.path,
                        hint="pass --dev FILE, or add rows")
    record = {"held_out_from": str(train.path), "fraction": fraction, "seed": cfg.seed,
              "rows": [train.rows[i] for i in held]}
    return train.subset(kept), train.subset(held), record


def choose_mixed_precision(precision: str) -> str:
    """Accelerate's mixed_precision for ``--precision``. On a CPU, auto stays fp32 and bf16 is asked for where
    the CPU has it natively (same accuracy on the quality suite; the speed tables, DP and SFT are fp32-only)."""
    if not torch.cuda.is_available():
        if precision == "fp16":
            raise ConfigError("--precision fp16 needs a GPU; this machine has none (use fp32, auto, or bf16 on "
                              "a CPU with AVX512-BF16/AMX)")
        if precision == "bf16" and not cpu_has_bf16():
            raise ConfigError("--precision bf16 on a CPU needs AVX512-BF16 or AMX, which this one lacks (bf16 "
                              "would be emulated, slower than fp32); use fp32 or auto")
        return "bf16" if precision == "bf16" else "no"
    if precision == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return {"fp32": "no"}.get(precision, precision)


def make_accelerator(precision: str):
    """Accelerate's Accelerator for one run at ``--precision``. Its state is a per-process singleton that
    refuses a second precision, so a process running several runs (a notebook, the tests) resets it; the
    distributed half of the state (the launch's process group) is kept."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    mixed = choose_mixed_precision(precision)
    if AcceleratorState._shared_state and AcceleratorState._shared_state.get("_mixed_precision") != mixed:
        AcceleratorState._reset_state(reset_partial_state=False)
    return Accelerator(mixed_precision=mixed, cpu=not torch.cuda.is_available())


def prepare_output(output: Path, resume: bool, overwrite: bool) -> None:
    has_checkpoint = (output / "checkpoints" / "latest").exists()
    if resume:
        return
    if overwrite:
        shutil.rmtree(output / "checkpoints", ignore_errors=True)
    elif has_checkpoint:
        raise ConfigError(f"{output} holds an interrupted run; pass --resume to continue it, or --overwrite "
                          "to start again")
    elif (output / "manifest.json").exists():
        refuse_to_replace(output, overwrite, what="a model")
    output.mkdir(parents=True, exist_ok=True)


# Settings that do not change what a run computes: a --resume may give them anew. Any other setting given
# with a different value than the interrupted run's is a real conflict.
FREE_ON_RESUME = ("checkpoint_every", "threads", "price_per_hour")


def resume_config(output: Path, cfg: FinetuneConfig, given: set[str] | None) -> FinetuneConfig:
    """The interrupted run's settings, with the ``given`` ones (None: all of ``cfg``) that may change applied.
    A given setting that would change the result is a ConfigError naming each one, old and new."""
    saved = read_manifest(output / "checkpoints").get("config")
    if saved is None:
        return cfg
    wanted = cfg.to_dict()
    names = set(wanted) if given is None else set(given) & set(wanted)
    names -= {k for k in names if wanted[k] is None}  # unset: the interrupted run's (adaptive) choice stands
    conflicts = sorted(k for k in names if k in saved and k not in FREE_ON_RESUME and saved[k] != wanted[k])
    if conflicts:
        changes = ", ".join(f"{k} {saved[k]!r} → {wanted[k]!r}" for k in conflicts)
        raise ConfigError(f"--resume with settings that change the result of the interrupted run ({changes}); "
                          "resume without them (the run's own settings are reused), or pass --overwrite to "
                          "start again")
    known = {k: v for k, v in saved.items() if k in wanted}  # a setting lmforge no longer has is dropped
    return FinetuneConfig.from_dict({**wanted, **known, **{k: wanted[k] for k in names if k in FREE_ON_RESUME}})


def check_max_length(max_length: int, model, model_dir: Path) -> None:
    """A --max-length past the model's position embeddings would fail inside the forward pass; say so first."""
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions is not None and max_length > positions:
        raise ConfigError(f"--max-length {max_length} is beyond the {positions} positions of the model "
                          f"({model_dir.name}); pass --max-length {positions} or less")


def freeze_lower_layers(model, count: int | None) -> None:
    """Freeze the embedding block and the first ``count`` encoder layers of a BERT-family model (None: a
    sixth of them, rounded down).

    The frozen layers' backward pass is skipped: on all-MiniLM-L6-v2 / SST-2 one frozen layer trains 19%
    more samples/s with the same or better test accuracy (bench/RESULTS.md)."""
    layers = transformer_blocks(model)
    if count is None:
        count = len(layers) // 6 if layers is not None else 0
    if not count:
        return
    if layers is None or count >= len(layers):
        raise ConfigError(f"--freeze-layers {count}: the model has "
                          f"{len(layers) if layers is not None else 'no BERT-style'} encoder layers; "
                          "freeze fewer (at least one must train)")
    for module in (model.base_model.embeddings, *layers[:count]):
        module.requires_grad_(False)


def frozen_layer_count(model) -> int:
    """Encoder layers without a single trainable weight."""
    layers = transformer_blocks(model) or []
    return sum(1 for layer in layers if not any(p.requires_grad for p in layer.parameters()))


def build_plan(cfg: FinetuneConfig, task, model, newly_initialized, tokenizer, enc_train, y_train, enc_dev, y_dev,
               labels, new_rows_from: int | None = None):
    """The loop's plan for ``cfg.method`` on ``task``. Returns (plan, module to export after training).

    ``new_rows_from``: the first embedding row that ``--extend-vocab`` added; with the pretrained rows frozen
    (``--freeze-embeddings``) those rows alone train, at ``NEW_ROWS_LR``."""
    pad_id = tokenizer.pad_token_id
    lengths = [len(ids) for ids in enc_train]

    if cfg.method == "head":
        if task.name != "text-classification":
            raise ConfigError(f"--method head trains a classifier on cached [CLS] features; the {task.name} task "
                              "needs --method full or lora")
        y_train_t = torch.as_tensor(np.asarray(y_train))
        head = freeze_backbone(model)
        model.eval()
        forward = lambda batch: first_token_states(model, batch)  # noqa: E731
        t0 = time.perf_counter()
        train_features = torch.from_numpy(batched_logits(forward, enc_train, pad_id))  # (N, H), computed once
        dev_features = torch.from_numpy(batched_logits(forward, enc_dev, pad_id))
        feature_s = time.perf_counter() - t0

        def head_loss(module, batch):
            return torch.nn.functional.cross_entropy(module(batch["features"]), batch["labels"], reduction="sum")

        @torch.inference_mode()
        def head_eval(module):
            module.eval()
            return task.dev_scores(module(dev_features).float().numpy(), y_dev, labels)

        plan = TrainingPlan(
            model=head,
            batches=lambda epoch: length_bucketed_batches([0] * len(lengths), cfg.batch_size, cfg.seed, epoch),
            collate=lambda idx: {"features": train_features[idx], "labels": y_train_t[idx]},
            loss=head_loss, evaluate=head_eval, setup_s=feature_s, metric=task.primary_metric)
        return plan, model

    if cfg.method == "lora":
        model = apply_lora(model, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, newly_initialized,
                           task.peft_task_type)
    else:
        if cfg.freeze_embeddings:
            model.get_input_embeddings().weight.requires_grad_(False)
        freeze_lower_layers(model, cfg.freeze_layers)
    new_rows = None  # the word-embedding parameter whose new rows alone train (--extend-vocab)
    if cfg.method == "full" and new_rows_from is not None and cfg.freeze_embeddings:
        train_only_new_rows(model, new_rows_from)
        new_rows = embeddings_name(model)

    @torch.inference_mode()
    def evaluate(module):
        module.eval()
        device = next(module.parameters()).device

        def forward(batch):
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
                return module(**batch).logits.float().cpu().numpy()

        return task.dev_scores(batched_logits(forward, enc_dev, pad_id), y_dev, labels)

    plan = TrainingPlan(
        model=model,
        batches=lambda epoch: length_bucketed_batches(lengths, cfg.batch_size, cfg.seed, epoch),
        collate=lambda indices: task.collate(enc_train, y_train, indices, pad_id),
        loss=task.loss, evaluate=evaluate, metric=task.primary_metric,
        lr_scale=head_lr_scale(cfg, newly_initialized, new_rows) if cfg.method == "full" else None,
        no_decay=(lambda name: name == new_rows) if new_rows else None)  # its frozen rows must not shrink
    return plan, model


def head_lr_scale(cfg: FinetuneConfig, newly_initialized: list[str], new_embeddings: str | None = None):
    """Per-parameter lr multiplier: ``head_lr / lr`` for the head (new weights and the pooler), and
    ``NEW_ROWS_LR / lr`` for the word embeddings when only their new rows train (``new_embeddings``: their
    parameter name; fresh rows need a fresh head's rate whatever the encoder's), else 1."""
    head_scale = cfg.head_lr / cfg.lr if cfg.head_lr else 1.0
    if head_scale == 1.0 and not new_embeddings:
        return None
    head = set(newly_initialized)
    rows_scale = NEW_ROWS_LR / cfg.lr

    def scale(name: str) -> float:
        if name == new_embeddings:
            return rows_scale
        return head_scale if name in head or ".pooler." in f".{name}" else 1.0

    return scale


def embeddings_name(model) -> str:
    weight = model.get_input_embeddings().weight
    return next(name for name, p in model.named_parameters() if p is weight)


def extend_vocabulary_for(cfg: FinetuneConfig, task, tokenizer, model, train_data) -> dict:
    """``--extend-vocab``: the training texts' words the tokenizer maps to [UNK] become tokens (in place) with
    new embedding rows; what was done, for the manifest's ``adaptive`` record ({} when nothing was)."""
    if cfg.extend_vocab == "off" or cfg.method != "full" or cfg.dp_epsilon is not None:
        return {}
    first_new = model.get_input_embeddings().num_embeddings
    info = extend_vocabulary(tokenizer, input_texts(task.inputs(train_data)), cfg.extend_vocab)
    if not info["extended"]:
        return {}
    grow_embeddings(model, tokenizer)
    return {**info, "first_new_id": first_new,
            "reason": f"{info['unknown_share_before']:.0%} of the training tokens were unknown to the tokenizer: "
                      f"{info['added']:,} words seen {info['min_count']}+ times became tokens whose embedding rows "
                      + (f"alone train, at {NEW_ROWS_LR:g} (the pretrained rows stay frozen)" if cfg.freeze_embeddings
                         else "train with the rest of the matrix (--no-freeze-embeddings)")}


def unknown_share(encoded: list[list[int]], unk_id: int | None) -> float | None:
    """Share of tokens the tokenizer could not represent (high for scripts its vocabulary lacks)."""
    if unk_id is None:
        return None
    total = sum(len(ids) - 2 for ids in encoded)  # [CLS] and [SEP] are never unknown
    return sum(ids.count(unk_id) for ids in encoded) / max(1, total)


ADAPTIVE_TASKS = ("text-classification",)
FIXED_DEFAULTS = {"epochs": 2, "max_length": BASE_MAX_LENGTH, "truncation": "head"}  # tasks without adaptive rules


def choose_settings(cfg: FinetuneConfig, task, tokenizer, train_data, model) -> tuple[FinetuneConfig, dict]:
    """The unset settings, chosen from the data (:mod:`lmforge.training.adaptive`), and why."""
    import dataclasses

    if task.name not in ADAPTIVE_TASKS:  # the task's own recipe (full fine-tuning), then the fixed defaults
        recipe = dict(getattr(task, "recipe", {})) if cfg.method == "full" else {}
        if (wanted := getattr(task, "examples_to_see", None)):
            rows = len(task.inputs(train_data))
            epochs = max(MIN_EPOCHS, min(MAX_EPOCHS, math.ceil(wanted / max(1, rows))))
            recipe["epochs"] = (epochs, f"{rows:,} training examples: {epochs} epochs see ~{epochs * rows:,} "
                                        f"(target {wanted:,}, {MIN_EPOCHS}–{MAX_EPOCHS} epochs)")
            recipe["patience"] = (0, f"no early stop: all {epochs} epochs of the example budget run, and the best "
                                     "dev checkpoint is kept")
        if getattr(task, "tags_every_token", False) and cfg.max_length is None:
            untruncated = task.encode(tokenizer, task.inputs(train_data), 1 << 30)[0]
            recipe["max_length"] = covering_max_length(max(map(len, untruncated), default=0),
                                                       getattr(model.config, "max_position_embeddings", 512))
        cfg, decisions = apply_recipe(cfg, recipe)
        filled = {k: v for k, v in FIXED_DEFAULTS.items() if getattr(cfg, k) is None}
        return dataclasses.replace(cfg, **filled).resolved(), decisions
    full, lengths = encode_texts(tokenizer, train_data.texts, 1 << 30)  # untruncated
    cfg, decisions = adapt(cfg, profile_texts(train_data.texts, train_data.labels, lengths,
                                              unknown_share(full, tokenizer.unk_token_id)),
                           getattr(model.config, "max_position_embeddings", 512))
    cfg = choose_truncation(cfg, lengths, decisions)
    return cap_steps(cfg, lengths, decisions).resolved(), decisions


def majority_warning(dev_metrics: dict, dev_data, method: str) -> str | None:
    """A DP-SGD model's dev accuracy at or below always answering the commonest dev label: what to say."""
    counts = dev_data.describe().get("label_distribution")
    if "accuracy" not in dev_metrics or not counts:
        return None
    label, most = max(counts.items(), key=lambda kv: kv[1])
    majority = most / sum(counts.values())
    if dev_metrics["accuracy"] > majority + 0.005:
        return None
    lora = (" LoRA under DP-SGD did not learn in lmforge's own measurements (bench/RESULTS.md, \"LoRA under DP\")."
            if method == "lora" else "")
    options = ("--method head, " if method == "lora" else "") + "a larger --batch-size or a larger --dp-epsilon"
    return (f"the private model is no better than always answering '{label}' (dev accuracy "
            f"{dev_metrics['accuracy']:.1%}, that label's share {majority:.1%}).{lora} Try {options}.")


def encode_split(task, tokenizer, data, labels, cfg: FinetuneConfig):
    """(token ids, targets, texts truncated); head+tail truncation when the recipe chose it."""
    if cfg.truncation != "head+tail":
        return task.encode_examples(tokenizer, data, labels, cfg.max_length)
    ids, lengths = encode_texts(tokenizer, data.texts, cfg.max_length, cfg.truncation)
    return ids, task.targets(data, labels), sum(1 for n in lengths if n > cfg.max_length)


def saved_model_logits(model_dir: Path, encoded: list[list[int]], pad_id: int, task) -> np.ndarray:
    """(N, K) logits of the saved classifier on ``encoded`` (dev): what calibration is fitted to."""
    from lmforge.inference.torch_backend import TorchBackend

    return batched_logits(TorchBackend(model_dir, task=task).forward, encoded, pad_id)


def finetune(train: str | Path, output: str | Path, dev: str | Path | None = None,
             config: FinetuneConfig | None = None, *, resume: bool = False, overwrite: bool = False,
             quiet: bool = False, given: set[str] | None = None) -> FinetuneResult:
    """Fine-tune a model for ``config.task`` on ``train`` and write a standard model directory to ``output``.

    With ``resume``, the interrupted run's settings are reused; of ``config``, only the settings named in
    ``given`` (None: all) are compared with them (see :func:`resume_config`)."""
    cfg = (config or FinetuneConfig()).validate()  # unset settings are chosen from the data below
    task = get_task(cfg.task)
    output = Path(output)
    train_path, dev_path = resolve_inputs(train, dev)
    choose_mixed_precision(cfg.precision)  # a precision this machine lacks is refused before --overwrite deletes
    prepare_output(output, resume, overwrite)
    if resume:
        cfg = resume_config(output, cfg, given)
    accelerator = make_accelerator(cfg.precision)
    main = accelerator.is_main_process
    threads = configure_threads(cfg.threads)
    checkpoint = latest_checkpoint(output / "checkpoints") if resume else None
    carried = json.loads((checkpoint / "state.json").read_text()).get("meter", {}) if checkpoint else {}

    with Meter(carried.get("wall_s", 0.0), carried.get("cpu_s", 0.0)) as meter:
        train_data = task.read(train_path, text_column=cfg.text_column, label_column=cfg.label_column,
                               encoding=cfg.encoding, **({"split": cfg.split} if cfg.split else {}))
        dev_split = None
        # a --dev file, or TRAIN's own dev/val split when it is a multi-split source (JSON keys, sheets, folders)
        source_dev = find_split(train_path, "dev", exclude=getattr(train_data, "split", None)) if dev_path is None else None
        if dev_path is not None or source_dev is not None:
            dev_data = task.read(dev_path or train_path, text_column=train_data.text_column,
                                 label_column=train_data.label_column, encoding=cfg.encoding,
                                 **({"split": source_dev, "role": "dev"} if source_dev else {}))
        else:
            train_data, dev_data, dev_split = split_dev(train_data, cfg)
        labels = task.label_space(train_data)

        model_dir = resolve_model_dir(cfg.model)
        tokenizer = load_tokenizer(model_dir)
        torch.manual_seed(cfg.seed)  # the new head's initialisation
        model, newly_initialized = task.build_model(model_dir, labels)
        vocabulary = extend_vocabulary_for(cfg, task, tokenizer, model, train_data)
        cfg, decisions = choose_settings(cfg, task, tokenizer, train_data, model)
        if vocabulary:
            decisions["vocabulary"] = vocabulary
        check_max_length(cfg.max_length, model, model_dir)
        trained_on = train_data  # the rows as read, or the task's augmented copy (pairs in both orders)
        if hasattr(task, "augment") and cfg.dp_epsilon is None:
            trained_on, augmented = task.augment(train_data, cfg.both_orders)
            if augmented:
                decisions["both_orders"] = augmented
        enc_train, y_train, truncated = encode_split(task, tokenizer, trained_on, labels, cfg)
        enc_dev, y_dev, _ = encode_split(task, tokenizer, dev_data, labels, cfg)

        if cfg.dp_epsilon is not None:  # refused before any work when DP-SGD cannot account for the settings
            from lmforge.training.privacy import check_private_config, make_private

            problems = check_private_config(cfg, len(enc_train), resume=resume, processes=accelerator.num_processes)
            if problems:
                raise ConfigError(problems)
        plan, export_model = build_plan(cfg, task, model, newly_initialized, tokenizer, enc_train, y_train, enc_dev,
                                        y_dev, labels, new_rows_from=vocabulary.get("first_new_id"))
        trainable = sum(p.numel() for p in plan.model.parameters() if p.requires_grad)  # before LoRA is merged
        if cfg.dp_epsilon is not None:
            # the head method's inputs are cached features: nothing to pad, nothing to sort
            plan = make_private(plan, cfg, len(enc_train), cfg.epochs,
                                lengths=None if cfg.method == "head" else [len(ids) for ids in enc_train])
        if main:  # what is needed to resume and to account for the run, before any step (a bad setting
            (output / "checkpoints").mkdir(parents=True, exist_ok=True)  # found above leaves nothing behind)
            write_manifest(output / "checkpoints", {"config": cfg.to_dict()})
        settings = LoopSettings(epochs=cfg.epochs, max_steps=cfg.max_steps or 0, lr=cfg.lr,
                                weight_decay=cfg.weight_decay, warmup_ratio=cfg.warmup_ratio,
                                # under DP-SGD each example's gradient is clipped instead (dp_max_grad_norm)
                                max_grad_norm=0.0 if plan.privacy is not None else cfg.max_grad_norm,
                                eval_every=cfg.eval_every, patience=cfg.patience,
                                grad_accumulation=plan.privacy.micro_batches if plan.privacy is not None else 1,
                                checkpoint_every=cfg.checkpoint_every, quiet=quiet, resume=resume)
        torch.manual_seed(cfg.seed)  # dropout stream
        result = run_loop(plan, settings, output, accelerator, meter)

        accelerator.unwrap_model(plan.model).load_state_dict(result.best_weights, strict=False)
        if cfg.method == "lora" and main:
            export_model = export_lora(export_model, output)
        if not main:
            accelerator.wait_for_everyone()
            return FinetuneResult(output, {}, {})
        if task.problem_type:
            export_model.config.problem_type = task.problem_type
        save_classifier(export_model, tokenizer, output)

    counters = result.counters
    best = max(result.history, key=lambda h: h[plan.metric]) if result.history else {}
    manifest = {
        "kind": task.name,
        "task": task.name,
        "lmforge_task": "finetune",
        "config": cfg.to_dict(),
        "labels": labels,
        "base_model": {"path": str(model_dir), "name": model_dir.name, "sha256": weights_sha256(model_dir)},
        "inputs": {"train": train_data.describe(), "dev": dev_data.describe(), "dev_split": dev_split},
        "metrics": {"dev": {k: v for k, v in best.items() if k not in ("step", "epoch", "train_loss")},
                    "best_step": best.get("step"), "history": result.history, "stopped_early": result.stopped_early},
        "training": {
            "steps": counters["step"], "samples": counters["samples"],
            # the head method's one pass of the frozen encoder over the data counts as training time
            "samples_per_s": round(counters["samples"] / max(counters["train_time_s"] + plan.setup_s, 1e-9), 2),
            "train_loop_s": round(counters["train_time_s"], 2), "setup_s": round(plan.setup_s, 2),
            "tokens": counters["real_tokens"], "tokens_computed": counters["padded_tokens"],
            "padding_fraction": round(1 - counters["real_tokens"] / counters["padded_tokens"], 4)
            if counters["padded_tokens"] else 0.0,
            "trainable_parameters": trainable,
            "frozen_layers": frozen_layer_count(export_model) if cfg.method == "full" else None,
            "truncated_texts": truncated, "threads": threads, "processes": accelerator.num_processes,
            "device": str(accelerator.device), "mixed_precision": accelerator.mixed_precision,
            "label_distribution": train_data.describe()["label_distribution"],
        },
        **meter.report(cfg.price_per_hour),
        "versions": library_versions(),
    }
    if decisions:
        manifest["adaptive"] = decisions
    dev_logits = saved_model_logits(output, enc_dev, tokenizer.pad_token_id, task)
    if isinstance(dev_logits, np.ndarray) and dev_logits.ndim == 2 and task.name in ADAPTIVE_TASKS:
        y = np.asarray(y_dev)
        manifest["calibration"] = calibration_record(dev_logits, y, fit=cfg.calibrate)
        dev_probs = softmax(dev_logits / manifest["calibration"]["temperature"])
        if (abstain := abstain_record(dev_probs, y, cfg.abstain_label, cfg.reject_below, cfg.target_precision)):
            manifest["abstain"] = abstain
    if hasattr(task, "tune_decision") and isinstance(dev_logits, np.ndarray) and dev_logits.ndim == 2:
        manifest["decision"] = task.tune_decision(dev_logits, np.asarray(y_dev), labels)  # e.g. per-label thresholds
    if plan.privacy is not None:
        manifest["privacy"] = plan.privacy.report()
        # a TF-IDF model of the same rows would be a non-private release of them
        manifest["baseline"] = {"skipped": "not trained in a DP-SGD run (it would not be private)"}
        if (warning := majority_warning(manifest["metrics"]["dev"], dev_data, cfg.method)):
            manifest["privacy"]["warning"] = warning  # without a baseline, say it when nothing was learned
    write_manifest(output, manifest)
    if plan.privacy is None:
        task.baseline(output, manifest, train_data, dev_data)  # e.g. TF-IDF + logistic regression, priced
    log_stage("finetune", output, manifest)  # MLflow; a tracking failure is a warning, never an error
    shutil.rmtree(output / "checkpoints", ignore_errors=True)
    accelerator.wait_for_everyone()
    return FinetuneResult(output, manifest["metrics"]["dev"], manifest)
