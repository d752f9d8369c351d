"""``lmforge serve MODEL_DIR`` and ``lmforge keys create|list|revoke MODEL_DIR``: parse, call, print."""

from __future__ import annotations

import json


def cmd_serve(args) -> None:
    from lmforge import api
    from lmforge.cli import dataclass_from_args
    from lmforge.serving.settings import ServeConfig

    api.serve(args.model, dataclass_from_args(ServeConfig, args))


def cmd_keys_create(args) -> None:
    from lmforge import api

    key = api.create_key(args.model, args.name, rate=args.rate, quota=args.quota)
    print(key)
    print(f"# key '{args.name}' created (rate {args.rate or 'unlimited'}, quota {args.quota or 'unlimited'}). "
          "It is shown only now: store it safely.", flush=True)


def cmd_keys_list(args) -> None:
    from lmforge import api

    keys = api.list_keys(args.model)
    if args.json:
        print(json.dumps(keys, indent=2))
        return
    if not keys:
        print("no keys: the server runs without authentication, on localhost only")
        return
    print(f"{'name':<20} {'key':<22} {'rate':<10} {'quota':<12} {'today (req/texts)':<18} status")
    for k in keys:
        status = f"revoked {k['revoked']}" if k["revoked"] else "active"
        today = f"{k['today']['requests']}/{k['today']['texts']}"
        print(f"{k['name']:<20} {k['key_prefix']:<22} {k['rate'] or '-':<10} {k['quota'] or '-':<12} {today:<18} "
              f"{status}")


def cmd_keys_revoke(args) -> None:
    from lmforge import api

    api.revoke_key(args.model, args.name)
    print(f"key '{args.name}' revoked; requests with it now get 401")


def register(subparsers) -> None:
    from lmforge.cli import add_dataclass_flags
    from lmforge.serving.settings import ServeConfig

    p = subparsers.add_parser("serve", help="serve a model over HTTP (dynamic batching, API keys, metrics)")
    p.add_argument("model", help="model directory (from `lmforge finetune` or `lmforge compress`)")
    add_dataclass_flags(p, ServeConfig, skip=("redact_pii",))
    p.add_argument("--redact-pii", nargs="?", const="logs", default="off", choices=("off", "logs", "model"),
                   help="redact personal data in request texts: logs (bare flag: the request log gets placeholders), "
                        "model (the model reads the redacted text too), off (default)")
    p.set_defaults(func=cmd_serve)

    p = subparsers.add_parser("keys", help="create, list and revoke API keys of a served model")
    keys = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    q = keys.add_parser("create", help="create a key; prints it once (only its hash is stored)")
    q.add_argument("model", help="model directory")
    q.add_argument("--name", required=True, help="who the key is for (letters, digits, . _ -)")
    q.add_argument("--rate", help="request rate limit, e.g. 10/s or 600/min (default: none)")
    q.add_argument("--quota", help="texts per UTC day, e.g. 10000/day (default: none)")
    q.set_defaults(func=cmd_keys_create)
    q = keys.add_parser("list", help="list keys with their limits and today's usage")
    q.add_argument("model", help="model directory")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_keys_list)
    q = keys.add_parser("revoke", help="revoke a key by name")
    q.add_argument("model", help="model directory")
    q.add_argument("name", help="the key's name")
    q.set_defaults(func=cmd_keys_revoke)
