"""Generation benchmarks, every ratio from one run on the same model and prompt.

    PYTHONPATH=src python bench/generation_bench.py single      # lmforge generate vs transformers generate
    PYTHONPATH=src python bench/generation_bench.py serve       # 8 concurrent streaming clients vs one at a time
    PYTHONPATH=src python bench/generation_bench.py embed       # /v1/embeddings vs sentence_transformers.encode
    PYTHONPATH=src python bench/generation_bench.py quality     # what int8 weights cost: fp32 vs int8 on held-out text

single: greedy decoding of --tokens new tokens (EOS ignored, so both arms make the same number) after the chat
prompt, arms alternated --repeats times, median tokens/s; transformers' arm is ``model.generate`` with its
default dynamic cache. serve: a real ``lmforge serve`` with --gen-slots 8 (continuous batching) and one with
--gen-slots 1 (one request at a time, the naive server), 8 clients streaming --tokens each through the
OpenAI route; aggregate tokens/s and time to first token p50/p99 as the clients saw them. embed: the same
texts through a real server's /v1/embeddings (4 concurrent clients, 32 texts a request) and through
``SentenceTransformer.encode`` (batch 32), vectors compared by cosine. quality: the fast decoder with fp32 and
with int8 weights scores the same --texts held-out bitext conversations (the SFT bench's seed-0 10% split) as
generation runs (prompt prefilled, reply fed a token a step), int8 also with 8 conversations decoded together
as the server batches them: the mean loss on the reply tokens, and how often the most probable next token is
fp32's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("LMFORGE_SHARED_DATA") or ROOT.parent / "shared" / "data")  # ../shared/data
BITEXT = SHARED / "bitext_support/Bitext_Sample_Customer_Support_Training_Dataset.csv"

PROMPT = [{"role": "user", "content": "Explain in a few sentences why the sky is blue."}]


def single(args) -> dict:
    import torch

    from lmforge.generation.engine import GenerationEngine
    from lmforge.generation.sampling import SamplingParams

    torch.set_num_threads(args.threads)
    fp32 = GenerationEngine.load("smollm2", slots=1, max_len=1024)
    int8 = GenerationEngine(fp32.model, fp32.tokenizer, slots=1, max_len=1024, int8=True)
    ids = fp32.chat_ids(PROMPT)
    params = SamplingParams(max_tokens=args.tokens, ignore_eos=True)

    def ours(engine):
        t = time.perf_counter()
        n = sum(1 for _ in engine.stream(ids, params))
        return n / (time.perf_counter() - t)

    def theirs():
        t = time.perf_counter()
        with torch.inference_mode():
            out = fp32.model.generate(torch.tensor([ids]), max_new_tokens=args.tokens, min_new_tokens=args.tokens,
                                      do_sample=False, pad_token_id=fp32.tokenizer.pad_token_id)
        return (out.shape[1] - len(ids)) / (time.perf_counter() - t)

    same = [c.token for c in fp32.stream(ids, SamplingParams(max_tokens=24, ignore_eos=True))]
    with torch.inference_mode():
        ref = fp32.model.generate(torch.tensor([ids]), max_new_tokens=24, min_new_tokens=24, do_sample=False,
                                  pad_token_id=fp32.tokenizer.pad_token_id)[0, len(ids):].tolist()
    runs = {"transformers": [], "lmforge_fp32": [], "lmforge_int8": []}
    for _ in range(args.repeats):
        runs["transformers"].append(theirs())
        runs["lmforge_fp32"].append(ours(fp32))
        runs["lmforge_int8"].append(ours(int8))
    med = {k: round(statistics.median(v), 2) for k, v in runs.items()}
    return {"bench": "single", "prompt_tokens": len(ids), "new_tokens": args.tokens, "threads": args.threads,
            "tokens_per_s_median": med, "runs": {k: [round(x, 2) for x in v] for k, v in runs.items()},
            "speedup_fp32": round(med["lmforge_fp32"] / med["transformers"], 2),
            "speedup_int8": round(med["lmforge_int8"] / med["transformers"], 2),
            "fp32_greedy_equals_transformers_24_tokens": same == ref}


def _clients(url: str, n: int, tokens: int) -> dict:
    import httpx

    ttft, counts, errors = [0.0] * n, [0] * n, []

    def client(i):
        body = {"model": "smollm2", "messages": [{"role": "user", "content": f"Tell me fact number {i} about "
                                                                              "the ocean."}],
                "max_tokens": tokens, "temperature": 0, "stream": True, "ignore_eos": True}
        t = time.perf_counter()
        try:
            with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=600) as r:
                for line in r.iter_lines():
                    if line.startswith("data: {"):
                        delta = json.loads(line[6:])["choices"]
                        if delta and delta[0].get("delta", {}).get("content"):
                            if not counts[i]:
                                ttft[i] = time.perf_counter() - t
                            counts[i] += 1
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ordered = sorted(ttft)
    return {"clients": n, "wall_s": round(wall, 2), "chunks": sum(counts),
            "aggregate_chunks_per_s": round(sum(counts) / wall, 2),
            "ttft_p50_s": round(statistics.median(ordered), 3), "ttft_p99_s": round(ordered[-1], 3),
            "errors": errors[:3]}


def serve(args) -> dict:
    from lmforge.generation.convert import bundled_chat_model_dir
    from tests.serving.test_real_server import start_server

    model_dir = bundled_chat_model_dir()
    out = {"bench": "serve", "new_tokens": args.tokens, "threads": args.threads, "int8": args.int8}
    for name, slots in (("continuous_8_slots", 8), ("one_at_a_time", 1)):
        process, url = start_server(model_dir, "--gen-slots", str(slots), "--threads", str(args.threads),
                                    "--embedding-model", "none", "--max-context", "1024",
                                    *(["--int8"] if args.int8 else []))
        try:
            _clients(url, 1, 4)  # warm-up
            out[name] = _clients(url, args.clients, args.tokens)
        finally:
            process.terminate()
            process.wait(60)
    out["speedup"] = round(out["continuous_8_slots"]["aggregate_chunks_per_s"]
                           / out["one_at_a_time"]["aggregate_chunks_per_s"], 2)
    return out


def embed(args) -> dict:
    import httpx
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from lmforge.models.pretrained import bundled_model_dir
    from tests.generation.conftest import build_tiny_llama
    from tests.serving.test_real_server import start_server

    torch.set_num_threads(args.threads)
    import csv

    with open(BITEXT) as f:
        texts = [row["instruction"] for row in csv.DictReader(f)][:args.texts]
    model = SentenceTransformer(str(bundled_model_dir()), device="cpu", local_files_only=True)
    t = time.perf_counter()
    theirs = model.encode(texts, batch_size=32)
    st_s = time.perf_counter() - t
    llm = build_tiny_llama(Path("/tmp/lmf_embed_bench_llm"))  # a generator is needed; embeddings beside it
    process, url = start_server(llm, "--threads", str(args.threads))
    try:
        httpx.post(f"{url}/v1/embeddings", json={"input": texts[:32]}, timeout=120)  # warm-up
        chunks = [texts[i:i + 32] for i in range(0, len(texts), 32)]
        ours: list = [None] * len(chunks)
        lock, cursor = threading.Lock(), [0]

        def worker():
            while True:
                with lock:
                    i = cursor[0]
                    cursor[0] += 1
                if i >= len(chunks):
                    return
                r = httpx.post(f"{url}/v1/embeddings", json={"input": chunks[i], "encoding_format": "float"},
                               timeout=300)
                ours[i] = [d["embedding"] for d in r.json()["data"]]

        t = time.perf_counter()
        workers = [threading.Thread(target=worker) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        ours_s = time.perf_counter() - t
    finally:
        process.terminate()
        process.wait(60)
    ours_v = np.array([v for chunk in ours for v in chunk], dtype=np.float32)
    cosine = (ours_v * theirs).sum(1) / np.linalg.norm(ours_v, axis=1) / np.linalg.norm(theirs, axis=1)
    return {"bench": "embed", "texts": len(texts), "threads": args.threads,
            "sentence_transformers_per_s": round(len(texts) / st_s, 1), "lmforge_http_per_s": round(len(texts) / ours_s, 1),
            "ratio": round(st_s / ours_s, 2), "min_cosine": float(cosine.min())}


def _scored(rows, ids: list[int], labels: list[int], start: int) -> tuple[float, object]:
    """Summed loss and most probable tokens of one reply, from its (reply length, vocab) logits ``rows``."""
    import torch
    import torch.nn.functional as F

    from lmforge.generation.sft_data import IGNORE

    keep = torch.tensor(labels[start:]) != IGNORE
    x = rows[keep]
    return float(F.cross_entropy(x, torch.tensor(ids[start:])[keep], reduction="sum")), x.argmax(-1)


def _reply_loss(decoder, batch) -> tuple[float, list]:
    """Teacher-forced loss (summed) on the reply tokens of ``batch`` [(ids, labels, start)], as generation runs:
    each prompt ``ids[:start]`` prefilled into its slot, then the reply fed one token a step, the rows decoded
    together; also each row's most probable next tokens."""
    import torch

    logits = [[decoder.prefill(slot, ids[:start])] for slot, (ids, _, start) in enumerate(batch)]
    for t in range(max(len(ids) - start for ids, _, start in batch) - 1):
        fed = [ids[min(start + t, len(ids) - 1)] for ids, _, start in batch]  # finished rows repeat their last
        for row, out in enumerate(decoder.decode(fed)):
            ids, _, start = batch[row]
            if start + t + 1 < len(ids):
                logits[row].append(out)
    scored = [_scored(torch.stack(rows), *example) for example, rows in zip(batch, logits)]
    return sum(loss for loss, _ in scored), [top for _, top in scored]


def _reply_loss_one_pass(decoder, batch) -> tuple[float, list]:
    """The same for the fp32 reference, in one pass over each whole conversation (the same arithmetic as
    prefill + decode in fp32, many times faster)."""
    scored = [_scored(decoder.prefill(0, ids, every_position=True)[start - 1:-1], ids, labels, start)
              for ids, labels, start in batch]
    return sum(loss for loss, _ in scored), [top for _, top in scored]


def quality(args) -> dict:
    import torch

    from lmforge.generation.engine import GenerationEngine
    from lmforge.generation.llama_fast import LlamaDecoder
    from lmforge.generation.sft import split_conversations
    from lmforge.generation.sft_data import IGNORE, load_conversations, tokenize_conversation

    torch.set_num_threads(args.threads)
    _, held = split_conversations(load_conversations(BITEXT), 0.1, 0)
    engine = GenerationEngine.load("smollm2", slots=1, max_len=1024)
    examples = []
    for messages in held[:args.texts]:
        ids, labels = tokenize_conversation(engine.tokenizer, messages, 1023)
        examples.append((ids, labels, next(i for i, x in enumerate(labels) if x != IGNORE)))
    arms = {"fp32": (engine.decoder, len(examples)), "int8": (LlamaDecoder(engine.model, 1, 1024, int8=True), 1),
            "int8_8_rows": (LlamaDecoder(engine.model, 8, 1024, int8=True), 8)}
    loss, top1 = {}, {}
    for name, (decoder, rows) in arms.items():
        loss[name], top1[name] = 0.0, []
        for i in range(0, len(examples), rows):
            score = _reply_loss_one_pass if name == "fp32" else _reply_loss
            total, tokens = score(decoder, examples[i:i + rows])
            loss[name] += total
            top1[name] += tokens
    n = sum(len(t) for t in top1["fp32"])
    agree = {name: sum(int((a == b).sum()) for a, b in zip(top1["fp32"], top1[name])) / n for name in arms}
    return {"bench": "quality", "conversations": len(examples), "reply_tokens": n,
            "loss": {name: round(v / n, 4) for name, v in loss.items()},
            "top1_agreement_with_fp32": {name: round(v, 4) for name, v in agree.items()}}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("which", choices=("single", "serve", "embed", "quality"))
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--texts", type=int, default=512)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--int8", action="store_true", help="serve: both servers with --int8")
    args = p.parse_args()
    bench = {"single": single, "serve": serve, "embed": embed, "quality": quality}[args.which]
    print(json.dumps(bench(args), indent=1), flush=True)


if __name__ == "__main__":
    main()
