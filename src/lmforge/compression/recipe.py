"""The compress recipe: parent artifact → smaller/faster artifact, measured against its parent, guarded.

    >>> result = compress("runs/sst2", "runs/sst2-int8", CompressConfig(to="onnx-int8"))
    >>> result.manifest["measurements"]["ratios"]
    {'speedup_b32': 2.4, 'speedup_b1': 2.1, 'size': 0.26, 'accuracy_change_points': -0.2}

The new artifact is built in a hidden directory beside ``output``, measured there (accuracy on the eval
set, size, sentences/s at batch 32, p50 latency at batch 1, each next to the parent's, timed in the same
process), and only moved into place when it loses at most ``max_drop`` accuracy points — or with
``force``. Its manifest names its parent and carries the parent's config, labels and inputs, so
evaluate, serve and a further compress need no flags repeated.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from lmforge.artifacts import library_versions, read_manifest, save_classifier, write_manifest
from lmforge.compression.measure import measure_pair, ratios, size_on_disk_mb
from lmforge.compression.parent_data import label_ids, parent_dev_data, parent_train_data
from lmforge.compression.settings import CompressConfig
from lmforge.metering import Meter
from lmforge.data.examples import LabeledTexts, iter_texts
from lmforge.errors import ArtifactError, ConfigError, DataError
from lmforge.files import refuse_to_replace
from lmforge.inference.onnx_backend import ONNX_FILE
from lmforge.models.pretrained import load_tokenizer, weights_sha256
from lmforge.tasks import task_for_artifact

CARRIED_FROM_PARENT = ("kind", "task", "config", "labels", "inputs", "decision")  # decision: Task.tune_decision
PARITY_SAMPLE = 32


@dataclass
class CompressResult:
    output: Path
    manifest: dict


def max_length_of(parent: Path) -> int:
    return read_manifest(parent).get("config", {}).get("max_length") or 128


def load_parent_torch(parent: Path):
    if not (parent / "model.safetensors").exists():
        raise ArtifactError(f"{parent} holds no torch weights (model.safetensors); compress starts from a "
                            "`lmforge finetune` output (or a distilled / pruned artifact), not from an ONNX export")
    if read_manifest(parent).get("quantization"):
        raise ArtifactError(f"{parent} is already int8; compress its parent instead")
    return task_for_artifact(parent).load_model(parent).eval()


def sample_batch(tokenizer, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
    """A padded batch of real texts of mixed lengths (exercises padding in the parity check)."""
    texts = list(texts[:PARITY_SAMPLE])
    pairs = ([list(x) for x in zip(*texts)] if texts and isinstance(texts[0], tuple)  # sentence pairs: (a, b)
             else [texts])
    return dict(tokenizer(*pairs, truncation=True, max_length=max_length, padding=True,
                          return_tensors="pt", return_token_type_ids=False))


def make_onnx(parent: Path, work: Path, cfg: CompressConfig, eval_texts: list[str]) -> dict:
    """model.onnx (fp32 or int8) in ``work``; returns what was done, for the manifest."""
    from lmforge.compression.onnx_export import export_onnx, fuse_transformer_graph, parity
    from lmforge.compression.quantize import quantize_onnx

    model, tokenizer = load_parent_torch(parent), load_tokenizer(parent)
    batch = sample_batch(tokenizer, eval_texts, max_length_of(parent))
    fp32 = work / ONNX_FILE if cfg.to == "onnx" else work / ".fp32.onnx"
    export_onnx(model, batch, fp32, task_for_artifact(parent).onnx_outputs())
    details = {"exporter": "torch.onnx TorchScript (dynamo=False)", "opset": 17, "dynamic_axes": ["batch", "sequence"]}
    details["fused_operators"] = fuse_transformer_graph(fp32, model.config) if cfg.optimize_graph else {}
    details["parity_max_abs_logit_diff"] = parity(model, fp32, batch)
    details["parity_sample"] = len(batch["input_ids"])
    if cfg.to == "onnx-int8":
        kept = quantize_onnx(fp32, work / ONNX_FILE, per_channel=cfg.per_channel, reduce_range=cfg.reduce_range,
                             keep_fp32=cfg.keep_fp32_modules)
        fp32.unlink()
        details.update({"per_channel": cfg.per_channel, "reduce_range": cfg.reduce_range,
                        "weight_type": "int8", "nodes_kept_fp32": kept})
    model.config.save_pretrained(work)
    tokenizer.save_pretrained(work)
    return details


def make_torch_int8(parent: Path, work: Path, cfg: CompressConfig) -> dict:
    from lmforge.inference.torch_int8_backend import SCHEME

    load_parent_torch(parent)  # refuses non-torch parents with a clear message
    for item in parent.iterdir():
        if item.is_file() and item.name != "manifest.json":
            shutil.copy2(item, work / item.name)
    return {"scheme": SCHEME, "dtype": "qint8", "keep_fp32": list(cfg.keep_fp32_modules),
            "stored_as": "fp32 safetensors + this recipe, applied at load (torch's int8 modules only pickle)"}


def unlabelled_texts(path: str | None) -> list[str]:
    if not path:
        return []
    _, _, rows = iter_texts(path, None, None, "utf-8", need_label=False)
    return [text for _, text, _ in rows]


def make_student(parent: Path, work: Path, cfg: CompressConfig, quiet: bool, meter) -> dict:
    """distill or prune (+ recovery): a smaller torch model trained with the one loop, saved to ``work``."""
    from lmforge.compression import distill, prune
    from lmforge.data.batching import pad_batch
    from lmforge.threads import configure_threads

    configure_threads(cfg.threads)
    task = task_for_artifact(parent)
    if task.name != "text-classification":
        raise ConfigError(f"--to {cfg.to} trains a student on the teacher's class distributions: it works for "
                          f"text-classification models, and {parent} is {task.name}. Use --to onnx, onnx-int8 or "
                          "torch-int8 instead")
    teacher, tokenizer = load_parent_torch(parent), load_tokenizer(parent)
    labels = [teacher.config.id2label[i] for i in range(teacher.config.num_labels)]
    train, dev = parent_train_data(parent), parent_dev_data(parent)
    max_length = max_length_of(parent)
    details: dict = {}
    if cfg.to == "distill":
        layers = cfg.student_layers or max(1, teacher.config.num_hidden_layers // 2)
        if cfg.student_hidden:
            student = distill.student_from_config(teacher, layers, cfg.student_hidden, cfg.seed)
            details["student"] = {"init": "from config", "layers": layers, "hidden": cfg.student_hidden}
        else:
            kept = distill.evenly_spaced_layers(teacher.config.num_hidden_layers, layers)
            student = distill.student_from_teacher(teacher, kept)
            details["student"] = {"init": "teacher layers", "teacher_layers_kept": kept}
    else:
        student = distill.student_from_teacher(teacher, range(teacher.config.num_hidden_layers))
        encoded = tokenizer(train.texts[:512], truncation=True, max_length=max_length)["input_ids"]
        gold = torch.tensor(label_ids(train.subset(range(min(512, len(train)))), labels))
        batches = [{**pad_batch(encoded[i:i + 32], tokenizer.pad_token_id), "labels": gold[i:i + 32]}
                   for i in range(0, len(encoded), 32)]
        if cfg.prune_ffn:
            keep = max(1, round((1 - cfg.prune_ffn) * student.config.intermediate_size))
            prune.prune_ffn(student, prune.ffn_importance(student, batches), keep)
            details["intermediate_size"] = keep
        if cfg.prune_layers:
            scores = prune.layer_importance(student, batches)
            dropped = sorted(scores.argsort()[:cfg.prune_layers].tolist())
            prune.drop_layers(student, dropped)
            details.update({"layer_importance": [round(float(s), 5) for s in scores], "layers_dropped": dropped})
        details["importance_sample"] = len(encoded)
    extra = unlabelled_texts(cfg.unlabelled)
    gold = list(label_ids(train, labels)) + [distill.UNLABELLED] * len(extra)
    details["training"] = distill.train_student(
        student, teacher, tokenizer, train.texts + extra, gold, dev.texts, label_ids(dev, labels), work / ".run",
        max_length=max_length, epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size,
        temperature=cfg.temperature, alpha=cfg.alpha, seed=cfg.seed, quiet=quiet, meter=meter,
        freeze_embeddings=not cfg.student_hidden)  # embeddings copied from the teacher stay as they are
    shutil.rmtree(work / ".run", ignore_errors=True)
    student.config.problem_type = task.problem_type
    save_classifier(student, tokenizer, work)
    details["parameters"] = sum(p.numel() for p in student.parameters())
    details["teacher_parameters"] = sum(p.numel() for p in teacher.parameters())
    return details


def eval_data(parent: Path, cfg: CompressConfig) -> LabeledTexts:
    """The labelled set compress measures on (the task's reader): --eval, else the parent's dev set."""
    if cfg.eval:
        task = task_for_artifact(parent)
        train = read_manifest(parent).get("inputs", {}).get("train", {})
        try:
            return task.read(cfg.eval, text_column=train.get("text_column"), label_column=train.get("label_column"))
        except DataError:  # the parent's column names are not in this file: detect them instead
            return task.read(cfg.eval)
    return parent_dev_data(parent)


def prepare_output(output: Path, overwrite: bool) -> Path:
    refuse_to_replace(output, overwrite)
    output.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))


def compress(model: str | Path, output: str | Path, config: CompressConfig | None = None, *,
             overwrite: bool = False, quiet: bool = False) -> CompressResult:
    """Make a compressed artifact of ``model`` in ``output`` (see the module docstring)."""
    from lmforge.inference.predictor import Predictor
    from lmforge.threads import configure_threads

    cfg = (config or CompressConfig()).resolved()
    parent, output = Path(model), Path(output)
    if not (parent / "config.json").exists():
        raise ArtifactError(f"{parent} is not a model directory (no config.json); "
                            "pass the output of `lmforge finetune`")
    data = eval_data(parent, cfg)  # before any work: a bad --eval fails in a second, not after training
    work = prepare_output(output, overwrite)
    try:
        with Meter() as meter:
            if cfg.to in ("onnx", "onnx-int8"):
                details = make_onnx(parent, work, cfg, data.texts)
            elif cfg.to == "torch-int8":
                details = make_torch_int8(parent, work, cfg)
            else:
                details = make_student(parent, work, cfg, quiet, meter)
            build_s = meter.wall_s
            parent_manifest = read_manifest(parent)
            manifest = {key: parent_manifest[key] for key in CARRIED_FROM_PARENT if key in parent_manifest}
            if cfg.to == "torch-int8":
                manifest["quantization"] = details
            write_manifest(work, manifest)  # the backends read the recipe and max_length from it

            threads = configure_threads(cfg.threads)
            predictors = {"parent": Predictor.load(parent), "artifact": Predictor.load(work)}
            reference = predictors["parent"]
            task = reference.task
            gold = task.scoring_targets(data, reference.labels, reference.tokenizer, reference.max_length)
            measured = measure_pair(predictors, task.inputs(data), gold, speed_texts=cfg.speed_texts,
                                    rounds=cfg.timing_rounds, progress=not quiet, task=task)
            measured["parent"]["size_mb"] = size_on_disk_mb(parent)
            measured["artifact"]["size_mb"] = size_on_disk_mb(work)
            change = ratios(measured["artifact"], measured["parent"])
        drop = -change["accuracy_change_points"]
        if drop > cfg.max_drop and not cfg.force:
            raise ConfigError(
                f"--to {cfg.to} loses {drop:.2f} accuracy points on {data.path} "
                f"({100 * measured['parent']['accuracy']:.2f}% → {100 * measured['artifact']['accuracy']:.2f}%), "
                f"more than the allowed {cfg.max_drop:g}; nothing was "
                f"written to {output}. Pass --force to keep it anyway, raise --max-drop, or "
                + ("keep more layers in fp32 (--keep-fp32 classifier,pooler,layer.0,layer.5)"
                   if "int8" in cfg.to else "train longer (--epochs) or keep more of the model"))
        manifest.update({
            "lmforge_task": "compress",
            "parent": {"path": str(parent.resolve()), "name": parent.name, "sha256": weights_sha256(parent),
                       "lmforge_task": parent_manifest.get("lmforge_task")},
            "compression": {"method": cfg.to, "settings": cfg.to_dict(), **details},
            "measurements": {"eval_data": str(data.path), "examples": len(data), "threads": threads,
                             "artifact": measured["artifact"], "parent": measured["parent"], "ratios": change,
                             "accepted": "within max_drop" if drop <= cfg.max_drop else "forced past max_drop"},
            "build_s": round(build_s, 2),
            **meter.report(),
            "versions": library_versions(),
        })
        write_manifest(work, manifest)
        if output.exists():
            shutil.rmtree(output)
        work.rename(output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    from lmforge.tracking import log_stage  # MLflow; a tracking failure is a warning, never an error

    log_stage("compress", output, manifest, metrics=manifest["measurements"]["artifact"])
    return CompressResult(output, manifest)
