"""Load test: `lmforge serve` against a naive FastAPI + transformers-pipeline server, on loopback.

For each server (started here, one at a time, on a free 127.0.0.1 port) and each concurrency (1, 8, 64 clients),
every client sends single-sentence requests (SST-2 test sentences) over one keep-alive connection, back to
back, for a fixed time. Reported: requests/s (2xx per second), p50/p95/p99 latency of the 2xx answers, and an
accounting: sent = 2xx + 429 + 503 + other statuses + timed out + connection errors; "lost" is everything that
is not 2xx, 429 or 503 (it must be 0). Results go to OUTPUT/serve_load.json, a Markdown table on stdout and
OUTPUT/serve_load.png.

The load generator is a minimal HTTP/1.1 client on raw asyncio streams (not httpx): on a 2-core machine the
client shares the CPU with the server, so it has to be cheap; it costs both servers the same.

    nice -n -5 .venv/bin/python bench/serve_load.py --model bench/out/serve-minilm \\
        [--int8 bench/out/serve-minilm-int8] --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REQUEST_TIMEOUT_S = 30.0


@dataclass
class Tally:
    sent: int = 0
    ok: int = 0
    rate_limited: int = 0  # 429
    unavailable: int = 0   # 503
    other: int = 0         # any other status
    timed_out: int = 0
    errors: int = 0        # connection failures
    latencies: list[float] = field(default_factory=list)

    def lost(self) -> int:
        return self.sent - self.ok - self.rate_limited - self.unavailable


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers


async def client(port: int, bodies: list[bytes], offset: int, stride: int, stop_at: float, tally: Tally) -> None:
    reader = writer = None
    i = offset
    while time.monotonic() < stop_at:
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                tally.sent += 1
                tally.errors += 1
                await asyncio.sleep(0.1)
                continue
        body = bodies[i % len(bodies)]
        i += stride
        request = (b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        started = time.perf_counter()
        tally.sent += 1
        try:
            writer.write(request)
            status, headers = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT_S)
        except asyncio.TimeoutError:
            tally.timed_out += 1
            writer.close()
            writer = None
            continue
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            tally.errors += 1
            writer.close()
            writer = None
            continue
        if 200 <= status < 300:
            tally.ok += 1
            tally.latencies.append(time.perf_counter() - started)
        elif status in (429, 503):
            if status == 429:
                tally.rate_limited += 1
            else:
                tally.unavailable += 1
            await asyncio.sleep(min(float(headers.get("retry-after", "1") or 1), 1.0))
        else:
            tally.other += 1
        if headers.get("connection", "").lower() == "close":
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def run_load(port: int, bodies: list[bytes], concurrency: int, duration: float) -> dict:
    tally = Tally()
    started = time.monotonic()
    stop_at = started + duration
    await asyncio.gather(*(client(port, bodies, k, concurrency, stop_at, tally) for k in range(concurrency)))
    elapsed = time.monotonic() - started  # includes draining the last requests
    lat = np.array(tally.latencies) * 1000
    pct = (lambda q: round(float(np.percentile(lat, q)), 1)) if len(lat) else (lambda q: None)
    return {"clients": concurrency, "seconds": round(elapsed, 2), "requests_per_s": round(tally.ok / elapsed, 1),
            "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99), "sent": tally.sent, "2xx": tally.ok,
            "429": tally.rate_limited, "503": tally.unavailable, "other": tally.other,
            "timed_out": tally.timed_out, "errors": tally.errors, "lost": tally.lost()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(process: subprocess.Popen, port: int, timeout: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("server not ready in time")


def server_command(kind: str, model: str, port: int, extra: list[str]) -> list[str]:
    if kind == "naive":
        return [sys.executable, str(REPO / "bench" / "naive_server.py"), model, "--port", str(port)]
    return [sys.executable, "-m", "lmforge", "serve", model, "--port", str(port), *extra]


def bench_server(name: str, kind: str, model: str, bodies: list[bytes], levels: list[int], duration: float,
                 extra: list[str]) -> list[dict]:
    port = free_port()
    process = subprocess.Popen(server_command(kind, model, port, extra), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    rows = []
    try:
        wait_ready(process, port)
        asyncio.run(run_load(port, bodies, 8, min(3.0, duration)))  # warm-up, not counted
        for level in levels:
            row = {"server": name, **asyncio.run(run_load(port, bodies, level, duration))}
            print(json.dumps(row), flush=True)
            rows.append(row)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
    return rows


def markdown(rows: list[dict]) -> str:
    head = ("| server | clients | req/s | p50 ms | p95 ms | p99 ms | sent | 2xx | 429 | 503 | other | timed out | "
            "errors | lost |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(f"| {r['server']} | {r['clients']} | {r['requests_per_s']} | {r['p50_ms']} | {r['p95_ms']} | "
                     f"{r['p99_ms']} | {r['sent']} | {r['2xx']} | {r['429']} | {r['503']} | {r['other']} | "
                     f"{r['timed_out']} | {r['errors']} | {r['lost']} |")
    return "\n".join(lines)


def ratios(rows: list[dict], baseline: str = "naive") -> list[str]:
    base = {r["clients"]: r for r in rows if r["server"] == baseline}
    out = []
    for r in rows:
        b = base.get(r["clients"])
        if r["server"] == baseline or not b or not b["requests_per_s"]:
            continue
        out.append(f"{r['server']} at {r['clients']} clients: {r['requests_per_s'] / b['requests_per_s']:.2f}x the "
                   f"requests/s of {baseline}, p99 {r['p99_ms']} ms vs {b['p99_ms']} ms")
    return out


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for server in dict.fromkeys(r["server"] for r in rows):
        mine = [r for r in rows if r["server"] == server]
        x = [r["clients"] for r in mine]
        ax1.plot(x, [r["requests_per_s"] for r in mine], marker="o", label=server)
        ax2.plot(x, [r["p99_ms"] or np.nan for r in mine], marker="o", label=server)
    for ax, title in ((ax1, "requests/s (higher is better)"), (ax2, "p99 latency, ms (lower is better)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent clients")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("lmforge serve vs a naive pipeline server (single-sentence requests, SST-2 test, loopback)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="fine-tuned model directory (torch)")
    parser.add_argument("--int8", help="an onnx-int8 artifact of the same model (from `lmforge compress`)")
    parser.add_argument("--texts", default=str(REPO / "examples" / "data" / "sst2-test.tsv"))
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per concurrency level")
    parser.add_argument("--clients", default="1,8,64", help="comma-separated concurrency levels")
    parser.add_argument("--servers", default="naive,lmforge,lmforge-int8", help="which servers to run, in order")
    parser.add_argument("--serve-args", default="", help="extra flags for `lmforge serve`")
    parser.add_argument("--output", default=str(REPO / "bench" / "out" / "serve-load"))
    args = parser.parse_args()

    with open(args.texts, newline="", encoding="utf-8") as f:
        sentences = [row["sentence"].strip() for row in csv.DictReader(f, delimiter="\t")]
    bodies = [json.dumps({"texts": [s]}).encode() for s in sentences]
    levels = [int(c) for c in args.clients.split(",")]
    extra = args.serve_args.split()
    plan = {"naive": ("naive", args.model), "lmforge": ("lmforge", args.model)}
    if args.int8:
        plan["lmforge-int8"] = ("lmforge", args.int8)
    rows = []
    for name in args.servers.split(","):
        if name in plan:
            rows += bench_server(name, *plan[name], bodies, levels, args.duration, extra)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "serve_load.json").write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=2))
    plot(rows, output / "serve_load.png")
    print()
    print(markdown(rows))
    print()
    print("\n".join(ratios(rows)))
    print(f"\nplot: {output / 'serve_load.png'}")


if __name__ == "__main__":
    main()
