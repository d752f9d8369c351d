"""``lmforge federated TRAIN --output DIR``: parse, call, print."""

from __future__ import annotations


def cmd_federated(args) -> None:
    from lmforge.cli import dataclass_from_args
    from lmforge.config import FinetuneConfig
    from lmforge.federated.simulation import FederatedConfig, run_federated

    result = run_federated(args.train, args.output, args.dev, dataclass_from_args(FederatedConfig, args),
                           dataclass_from_args(FinetuneConfig, args), overwrite=args.overwrite, quiet=args.quiet)
    comm = result.manifest["communication"]
    dev = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
    print(f"saved {result.output}  (dev after {len(result.manifest['metrics']['history']) - 1} rounds: {dev})")
    print(f"communication: {comm['bytes_per_round'] / 1e6:.2f} MB per round ({comm['clients_per_round']} clients x "
          f"{comm['bytes_per_message'] / 1e6:.2f} MB each way), {result.manifest['wall_s']:.0f} s")


def register(subparsers) -> None:
    from lmforge.cli import add_dataclass_flags
    from lmforge.config import FinetuneConfig
    from lmforge.federated.settings import FederatedConfig

    p = subparsers.add_parser("federated", help="federated fine-tuning simulated on this machine (Flower, FedAvg)")
    p.add_argument("train", help="training data, split over the simulated clients")
    p.add_argument("--dev", help="dev data the server evaluates the global model on (default: held out of TRAIN)")
    p.add_argument("--output", "-o", required=True, help="directory for the global model")
    p.add_argument("--overwrite", action="store_true", help="replace what --output holds")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-round output")
    add_dataclass_flags(p, FederatedConfig)
    # the local training: every fine-tuning setting but the ones federated training replaces or refuses
    add_dataclass_flags(p, FinetuneConfig, skip=("epochs", "eval_every", "patience", "checkpoint_every",
                                                 "dp_epsilon", "dp_delta", "dp_max_grad_norm", "dp_accountant"))
    p.set_defaults(func=cmd_federated)
