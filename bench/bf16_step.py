"""One training step, fp32 vs bf16 autocast on the CPU: the bundled MiniLM and a 4×128 GPT-2.

    python bench/bf16_step.py [THREADS]

Same model, batch and fused AdamW in both modes; 8 timed steps after 2 warm-up steps. bf16 pays only on CPUs
that multiply it natively (AVX512-BF16 or AMX: `lmforge.metering.hardware.cpu_has_bf16`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, GPT2Config, GPT2LMHeadModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from lmforge.models.pretrained import resolve_model_dir  # noqa: E402


def bench(model, inputs: dict, name: str, steps: int = 8) -> None:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    for mode in ("fp32", "bf16"):
        times = []
        for _ in range(steps + 2):
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "bf16"):
                loss = model(**inputs).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
            times.append(time.perf_counter() - start)
        print(f"{name} {mode}: {sum(times[2:]) / steps * 1000:.0f} ms/step", flush=True)


def main() -> None:
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    minilm = AutoModelForSequenceClassification.from_pretrained(resolve_model_dir("all-MiniLM-L6-v2"), num_labels=2)
    bench(minilm, {"input_ids": torch.randint(1000, 20000, (32, 64)), "attention_mask": torch.ones(32, 64, dtype=torch.long),
                   "labels": torch.randint(0, 2, (32,))}, "MiniLM, batch 32 x 64")
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=65, n_positions=128, n_embd=128, n_layer=4, n_head=4))
    ids = torch.randint(0, 65, (32, 128))
    bench(gpt2, {"input_ids": ids, "labels": ids}, "GPT-2 4x128, batch 32 x 128")


if __name__ == "__main__":
    main()
