"""Federated fine-tuning simulated on one machine: N Flower clients, each holding one partition of the
training rows, FedAvg over the trainable weights (LoRA adapters + head, the head alone, or every weight
the method trains), a round budget; the global model is an ordinary lmforge artifact.

    lmforge federated train.csv --output runs/fed --clients 5 --rounds 5 --partition label-skew --method lora

How it runs. The clients and the server are Flower's own objects: a ``ClientApp`` whose ``train`` handler
loads the global weights, trains on the client's rows with THE loop (:mod:`lmforge.training.loop`, the plan
built by the fine-tuning recipe) and replies with its weights and row count; and Flower's ``FedAvg``
strategy, which samples clients, weights their replies by row count and evaluates the global model on the
dev set after each round (``evaluate_fn``). Flower's simulation runtime needs Ray, which lmforge does not
install; so the messages travel through :class:`InProcessGrid`, an implementation of Flower's public
``Grid`` interface (:func:`in_process_grid`) that hands each ``Message`` to the ``ClientApp`` in this
process, one client after the other. What a client computes and what the strategy aggregates is the same as in a deployment.

Across processes or machines, Flower's own deployment runs the same two pieces (see README "Federated"):
a SuperLink (``flower-superlink``), one SuperNode per data holder (``flower-supernode --superlink HOST:9092
--node-config "partition-id=0 num-partitions=5"``) and ``flwr run`` of an app whose ``ClientApp`` is
:func:`build_client_app` and whose ``ServerApp`` calls ``FedAvg().start(grid, ...)`` as here.

The head method computes the frozen encoder's features once per client (each client over its own rows, as
it would on its own machine). Each round's local training is one run of the loop over ``local_epochs``
(fresh AdamW state, the learning-rate schedule restarted), the usual FedAvg client.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import numpy as np
import torch

from lmforge.config import FinetuneConfig
from lmforge.errors import ConfigError, missing_extra
from lmforge.federated.settings import FederatedConfig


@dataclass
class FederatedResult:
    output: Path
    metrics: dict
    manifest: dict


def in_process_grid(client_app, clients: int):
    """Flower's ``Grid`` for clients that live in this process: ``send_and_receive`` calls ``client_app`` on
    each message, in turn, with client ``c``'s context (``node_config["partition-id"] = c``)."""
    from flwr.app import Context, Message, RecordDict
    from flwr.serverapp import Grid

    class InProcessGrid(Grid):
        def __init__(self, client_app, clients: int):
            self.client_app = client_app
            self.contexts = {c + 1: Context(run_id=0, node_id=c + 1, state=RecordDict(), run_config={},
                                            node_config={"partition-id": c, "num-partitions": clients})
                             for c in range(clients)}
            self._run = None

        def set_run(self, run) -> None:
            self._run = run

        @property
        def run(self):
            return self._run

        def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):
            return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

        def get_node_ids(self):
            return list(self.contexts)

        def push_messages(self, messages):
            raise NotImplementedError("InProcessGrid delivers with send_and_receive")

        def pull_messages(self, message_ids):
            raise NotImplementedError("InProcessGrid delivers with send_and_receive")

        def send_and_receive(self, messages, *, timeout=None):
            replies = []
            for message in messages:
                message.metadata.__dict__["_message_id"] = uuid4().hex
                replies.append(self.client_app(message, self.contexts[message.metadata.dst_node_id]))
            return replies

    return InProcessGrid(client_app, clients)


def _set_task_identity() -> None:
    """Flower's messages take their run and node ids from the process's task identity, which its runtimes
    set; the in-process simulation sets the same dummy identity as ``flwr.simulation.run_simulation``."""
    from flwr.common.constant import SUPERLINK_NODE_ID
    from flwr.supercore.task_identity import TaskIdentity

    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, SUPERLINK_NODE_ID


@dataclass
class _Client:
    plan: object
    rows: int
    run_dir: Path


def build_client_app(clients: list[_Client], settings, accelerator):
    """A Flower ``ClientApp``: on ``train``, load the global weights, run THE loop on this client's rows,
    reply with the new weights and the row count (FedAvg's weight)."""
    from flwr.app import ArrayRecord, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    from lmforge.training.loop import train as run_loop
    from lmforge.training.loop import trainable_weights

    app = ClientApp()

    @app.train()
    def train(message, context):
        client = clients[int(context.node_config["partition-id"])]
        weights = message.content["arrays"].to_torch_state_dict()
        client.plan.model.load_state_dict(weights, strict=False)
        result = run_loop(client.plan, settings, client.run_dir, accelerator)
        updated = trainable_weights(client.plan.model)  # the last weights, not the best on a dev set
        loss = result.history[-1]["train_loss"] if result.history else float("nan")
        content = RecordDict({"arrays": ArrayRecord(updated),
                              "metrics": MetricRecord({"num-examples": client.rows, "train_loss": float(loss)})})
        return Message(content=content, reply_to=message)

    return app


def run_federated(train: str | Path, output: str | Path, dev: str | Path | None = None,
                  federated: FederatedConfig | None = None, config: FinetuneConfig | None = None, *,
                  overwrite: bool = False, quiet: bool = False) -> FederatedResult:
    """Simulate federated fine-tuning of ``config`` (method, model, lr …) over ``federated.clients`` clients
    and write the global model to ``output``."""
    try:
        from flwr.app import ArrayRecord, MetricRecord
        from flwr.serverapp.strategy import FedAvg
    except ImportError:
        raise missing_extra("lmforge federated", "privacy", "flwr") from None
    from accelerate import Accelerator

    from lmforge.metering import Meter
    from lmforge.training.loop import LoopSettings, trainable_weights

    fed = (federated or FederatedConfig()).validate()
    cfg = (config or FinetuneConfig()).resolved()
    if cfg.dp_epsilon is not None:
        raise ConfigError("--dp-epsilon is not combined with federated training here (each client would need its "
                          "own accountant); train centrally with --dp-epsilon, or federated without it")
    output = Path(output)
    started = time.time()
    with Meter() as meter:
        data = _load(train, dev, cfg, output, overwrite)
        parts = _partition(data["y_train"], fed, cfg.seed)
        accelerator = Accelerator(cpu=not torch.cuda.is_available())
        work = Path(tempfile.mkdtemp(prefix="lmforge-federated-"))
        clients = [_Client(_plan_for(cfg, data, rows), len(rows), work / f"client-{c}")
                   for c, rows in enumerate(parts)]
        server_plan, export_model = _server_plan(cfg, data)
        settings = LoopSettings(epochs=fed.local_epochs, lr=cfg.lr, weight_decay=cfg.weight_decay, warmup_ratio=0.0,
                                max_grad_norm=cfg.max_grad_norm, patience=0, checkpoint_every=10**9, quiet=True)
        client_app = build_client_app(clients, settings, accelerator)
        history = []

        def evaluate(round_number: int, arrays) -> MetricRecord:
            server_plan.model.load_state_dict(arrays.to_torch_state_dict(), strict=False)
            metrics = server_plan.evaluate(server_plan.model)
            history.append({"round": round_number, **{k: round(float(v), 5) for k, v in metrics.items()}})
            if not quiet:
                print(f"round {round_number}: " + " ".join(f"{k}={v:.4f}" for k, v in metrics.items()), flush=True)
            return MetricRecord({k: float(v) for k, v in metrics.items()})

        _set_task_identity()
        torch.manual_seed(cfg.seed)
        initial = trainable_weights(server_plan.model)
        sampled = max(2, int(fed.clients * fed.fraction_train))
        strategy = FedAvg(fraction_train=fed.fraction_train, fraction_evaluate=0.0, min_train_nodes=sampled,
                          min_available_nodes=fed.clients)
        grid = in_process_grid(client_app, fed.clients)
        _quiet_flower(quiet)
        result = strategy.start(grid=grid, initial_arrays=ArrayRecord(initial), num_rounds=fed.rounds,
                                evaluate_fn=evaluate)
        server_plan.model.load_state_dict(result.arrays.to_torch_state_dict(), strict=False)
        export_model = _export(cfg, export_model, data["tokenizer"], output)
    bytes_per_message = sum(t.numel() * t.element_size() for t in initial.values())
    manifest = _manifest(cfg, fed, data, parts, history, bytes_per_message, sampled, meter, started)
    from lmforge.artifacts import write_manifest

    write_manifest(output, manifest)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return FederatedResult(output, manifest["metrics"]["dev"], manifest)


def _quiet_flower(quiet: bool) -> None:
    import logging

    logging.getLogger("flwr").setLevel(logging.WARNING if quiet else logging.INFO)


def _load(train, dev, cfg: FinetuneConfig, output: Path, overwrite: bool) -> dict:
    """Rows, labels, tokenizer and token ids, read by the task as `lmforge finetune` reads them."""
    from lmforge.models.pretrained import load_tokenizer, resolve_model_dir
    from lmforge.tasks import get_task
    from lmforge.threads import configure_threads
    from lmforge.training.finetune import prepare_output, resolve_inputs, split_dev

    task = get_task(cfg.task)
    train_path, dev_path = resolve_inputs(train, dev)
    prepare_output(output, False, overwrite)
    configure_threads(cfg.threads)
    train_data = task.read(train_path, text_column=cfg.text_column, label_column=cfg.label_column,
                           encoding=cfg.encoding)
    if dev_path is not None:
        dev_data = task.read(dev_path, text_column=train_data.text_column, label_column=train_data.label_column,
                             encoding=cfg.encoding)
    else:
        train_data, dev_data, _ = split_dev(train_data, cfg)
    labels = task.label_space(train_data)
    model_dir = resolve_model_dir(cfg.model)
    tokenizer = load_tokenizer(model_dir)
    enc_train, y_train, _ = task.encode_examples(tokenizer, train_data, labels, cfg.max_length)
    enc_dev, y_dev, _ = task.encode_examples(tokenizer, dev_data, labels, cfg.max_length)
    return {"task": task, "train": train_data, "dev": dev_data, "labels": labels, "model_dir": model_dir,
            "tokenizer": tokenizer, "enc_train": enc_train, "y_train": np.asarray(y_train), "enc_dev": enc_dev,
            "y_dev": np.asarray(y_dev)}


def _partition(y_train: np.ndarray, fed: FederatedConfig, seed: int) -> list[list[int]]:
    from lmforge.federated.partition import iid_partition, label_skew_partition

    if fed.partition == "iid":
        return iid_partition(y_train, fed.clients, seed)
    return label_skew_partition(y_train, fed.clients, fed.alpha, seed)


def _new_model(cfg: FinetuneConfig, data: dict):
    torch.manual_seed(cfg.seed)  # the same initial head everywhere (the server's is sent out anyway)
    return data["task"].build_model(data["model_dir"], data["labels"])


def _plan_for(cfg: FinetuneConfig, data: dict, rows: list[int]):
    """A client's plan: the recipe's plan over its own rows; no dev evaluation (the server evaluates)."""
    from lmforge.training.finetune import build_plan

    model, new = _new_model(cfg, data)
    enc = [data["enc_train"][i] for i in rows]
    y = data["y_train"][rows]
    plan, _ = build_plan(cfg, data["task"], model, new, data["tokenizer"], enc, y, enc[:1], y[:1], data["labels"])
    plan.evaluate = lambda module: {"accuracy": 0.0}
    return plan


def _server_plan(cfg: FinetuneConfig, data: dict):
    """The global model and its dev evaluation (the plan's batches are never used)."""
    from lmforge.training.finetune import build_plan

    model, new = _new_model(cfg, data)
    enc_dev, y_dev = data["enc_dev"], data["y_dev"]
    return build_plan(cfg, data["task"], model, new, data["tokenizer"], enc_dev[:1], y_dev[:1], enc_dev, y_dev,
                      data["labels"])


def _export(cfg: FinetuneConfig, export_model, tokenizer, output: Path):
    from lmforge.adapters.lora import export_lora
    from lmforge.artifacts import save_classifier
    from lmforge.tasks import get_task

    if cfg.method == "lora":
        export_model = export_lora(export_model, output)
    export_model.config.problem_type = get_task(cfg.task).problem_type
    save_classifier(export_model, tokenizer, output)
    return export_model


def _manifest(cfg, fed, data, parts, history, bytes_per_message, sampled, meter, started) -> dict:
    from collections import Counter

    from lmforge.artifacts import library_versions
    from lmforge.models.pretrained import weights_sha256

    best = history[-1] if history else {}
    names = list(data["labels"])
    return {
        "kind": data["task"].name,
        "task": data["task"].name,
        "lmforge_task": "federated",
        "config": cfg.to_dict(),
        "federated": {**dataclasses.asdict(fed), "strategy": "FedAvg (flwr)", "runtime": "in-process Grid",
                      "client_rows": [len(p) for p in parts],
                      "client_label_counts": [dict(sorted(Counter(names[int(data["y_train"][i])] for i in p).items()))
                                              for p in parts]},
        "communication": {"parameters_per_message": int(bytes_per_message // 4),
                          "bytes_per_message": int(bytes_per_message),
                          "clients_per_round": sampled,
                          # the global weights down to each sampled client, its weights back up
                          "bytes_per_round": int(2 * sampled * bytes_per_message),
                          "bytes_total": int(2 * sampled * bytes_per_message * fed.rounds)},
        "labels": names,
        "base_model": {"path": str(data["model_dir"]), "name": data["model_dir"].name,
                       "sha256": weights_sha256(data["model_dir"])},
        "inputs": {"train": data["train"].describe(), "dev": data["dev"].describe()},
        "metrics": {"dev": {k: v for k, v in best.items() if k != "round"}, "history": history},
        **meter.report(cfg.price_per_hour),
        "versions": library_versions(),
    }
