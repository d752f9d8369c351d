"""GenerationEngine: a causal LM, its tokenizer and a slot decoder; prompts in, streamed text out.

    >>> engine = GenerationEngine.load("smollm2")            # or any AutoModelForCausalLM directory
    >>> ids = engine.chat_ids([{"role": "user", "content": "What is the capital of France?"}])
    >>> for chunk in engine.stream(ids, SamplingParams(max_tokens=32)):
    ...     print(chunk.text, end="", flush=True)
    The capital of France is Paris.

Llama-family models decode on :class:`~lmforge.generation.llama_fast.LlamaDecoder` (preallocated KV cache,
fused projections, optional int8); any other architecture on :class:`HFDecoder` (transformers' own forward
and cache, one row at a time). Both have the same slot interface, so the server's continuous batching
(:mod:`lmforge.generation.scheduler`) and ``lmforge generate`` run on either.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from lmforge.errors import ConfigError
from lmforge.generation.chat_template import ensure_chat_template, render_chat
from lmforge.generation.sampling import Sampler, SamplingParams
from lmforge.generation.streaming import TextStream


@dataclass
class Chunk:
    """A piece of a generation: its text (may be empty while held back), the token, and why it ended."""

    text: str
    token: int | None = None
    finish_reason: str | None = None  # "stop" (EOS or a stop string) or "length" (max_tokens)
    eos: bool = False  # the token is the end-of-sequence token (not part of the completion)


class Sequence:
    """One request's decoding state: its sampler, text stream and the tokens so far."""

    def __init__(self, engine: GenerationEngine, prompt: list[int], params: SamplingParams):
        self.engine, self.prompt, self.params = engine, prompt, params
        self.sampler = Sampler(params)
        self.text = TextStream(engine.tokenizer, params.stop)
        self.generated: list[int] = []
        self.finish_reason: str | None = None

    def accept(self, logits: torch.Tensor) -> Chunk:
        """Choose the next token from ``logits`` (vocab,); the chunk it releases."""
        p = self.params
        history = torch.tensor(self.prompt + self.generated) if p.repetition_penalty != 1.0 else torch.empty(0)
        token = self.sampler(logits, history.long())
        if token in self.engine.eos_ids and not p.ignore_eos:
            self.finish_reason = "stop"
            return Chunk(self.text.flush(), token, "stop", eos=True)
        self.generated.append(token)
        piece = self.text.push(token)
        if self.text.stopped:
            self.finish_reason = "stop"
        elif len(self.generated) >= p.max_tokens:
            self.finish_reason = "length"
            piece += self.text.flush()
        return Chunk(piece, token, self.finish_reason)


class HFDecoder:
    """The slot interface over transformers' forward and cache, for architectures without a fast path.
    Rows decode one after another (correct for any model; batching gains nothing here)."""

    def __init__(self, model, slots: int = 8, max_len: int = 2048):
        self.model = model
        self.slots, self.max_len = slots, min(max_len, getattr(model.config, "max_position_embeddings", None)
                                               or getattr(model.config, "n_positions", None) or max_len)
        self.caches: list = [None] * slots
        self.lengths = [0] * slots

    @torch.inference_mode()
    def prefill(self, slot: int, ids: list[int]) -> torch.Tensor:
        if len(ids) >= self.max_len:
            raise ValueError(f"prompt of {len(ids)} tokens does not fit the model's {self.max_len} positions")
        out = self.model(input_ids=torch.tensor([ids]), use_cache=True)
        self.caches[slot], self.lengths[slot] = out.past_key_values, len(ids)
        return out.logits[0, -1].float()

    @torch.inference_mode()
    def decode(self, tokens: list[int]) -> torch.Tensor:
        rows = []
        for b, token in enumerate(tokens):
            if self.lengths[b] >= self.max_len:
                raise ValueError(f"a sequence reached the model's {self.max_len} positions")
            with warnings.catch_warnings():  # transformers 5.x renames past_key_values → cache; both still work
                warnings.simplefilter("ignore", FutureWarning)
                out = self.model(input_ids=torch.tensor([[token]]), past_key_values=self.caches[b], use_cache=True)
            self.caches[b] = out.past_key_values
            self.lengths[b] += 1
            rows.append(out.logits[0, -1].float())
        return torch.stack(rows)

    def move(self, src: int, dst: int) -> None:
        self.caches[dst], self.lengths[dst] = self.caches[src], self.lengths[src]
        self.caches[src] = None


class GenerationEngine:
    def __init__(self, model, tokenizer, *, name: str = "model", slots: int = 8, max_len: int = 2048,
                 int8: bool = False, model_dir: Path | None = None):
        from lmforge.generation.llama_fast import LlamaDecoder, supports_fast_decoder

        self.model, self.tokenizer, self.name, self.model_dir = model.eval(), tokenizer, name, model_dir
        ensure_chat_template(tokenizer)
        self.decoder = (LlamaDecoder(model, slots, max_len, int8=int8) if supports_fast_decoder(model)
                        else HFDecoder(model, slots, max_len))
        self.backend = ("fast-int8" if int8 else "fast") if isinstance(self.decoder, LlamaDecoder) else "transformers"
        self.eos_ids = _eos_ids(model, tokenizer)

    @classmethod
    def load(cls, model: str | Path | None = None, *, int8: bool = False, slots: int = 8,
             max_len: int = 2048) -> GenerationEngine:
        """``model``: a causal-LM directory, a ``.gguf`` file, or ``None`` / ``"smollm2"`` for the bundled one."""
        from transformers import AutoModelForCausalLM

        from lmforge.generation.convert import resolve_chat_model
        from lmforge.models.pretrained import load_tokenizer, quiet_transformers

        model_dir = resolve_chat_model(model)
        with quiet_transformers():
            hf_model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        from lmforge.artifacts import read_manifest

        name = read_manifest(model_dir).get("name") or model_dir.name
        return cls(hf_model, load_tokenizer(model_dir), name=name, slots=slots, max_len=max_len, int8=int8,
                   model_dir=model_dir)

    @property
    def max_len(self) -> int:
        return self.decoder.max_len

    def prompt_ids(self, prompt: str) -> list[int]:
        return self.tokenizer(prompt, add_special_tokens=False)["input_ids"] or [self._start_token()]

    def chat_ids(self, messages: list[dict]) -> list[int]:
        return self.tokenizer(render_chat(self.tokenizer, messages), add_special_tokens=False)["input_ids"]

    def fit(self, prompt: list[int], params: SamplingParams) -> SamplingParams:
        """``params`` with max_tokens cut so the prompt and the generation fit the cache; ConfigError when
        the prompt alone does not."""
        room = self.max_len - len(prompt) - 1
        if room < 1:
            raise ConfigError(f"the prompt has {len(prompt)} tokens; this model's context holds {self.max_len}: "
                              "shorten it")
        if params.max_tokens > room:
            from dataclasses import replace

            params = replace(params, max_tokens=room)
        return params

    def stream(self, prompt: list[int], params: SamplingParams | None = None, *,
               slide: bool = False) -> Iterator[Chunk]:
        """Generate for one prompt on slot 0 (not for concurrent use: the server has its scheduler).

        Without ``slide``, prompt + generation must fit the model's context (max_tokens is cut to fit). With
        it, generation goes on past the context the way nanoGPT samples: when the window is full, its last
        half is run again from position 0 and decoding continues, so the model never sees more than its
        context; a prompt longer than the context keeps its end."""
        params = (params or SamplingParams()).validate()
        if slide:
            prompt = prompt[-(self.max_len // 2):] if len(prompt) >= self.max_len else prompt
        else:
            params = self.fit(prompt, params)
        sequence, window = Sequence(self, prompt, params), list(prompt)
        chunk = sequence.accept(self.decoder.prefill(0, window))
        yield chunk
        while sequence.finish_reason is None:
            window.append(chunk.token)
            if len(window) >= self.max_len:  # full: keep the last half, positions from 0 again
                window = window[-(self.max_len // 2):]
                logits = self.decoder.prefill(0, window)
            else:
                logits = self.decoder.decode([chunk.token])[0]
            chunk = sequence.accept(logits)
            yield chunk

    def generate(self, prompt: str, params: SamplingParams | None = None) -> str:
        return "".join(c.text for c in self.stream(self.prompt_ids(prompt), params))

    def _start_token(self) -> int:
        for token in (self.tokenizer.bos_token_id, self.tokenizer.eos_token_id, 0):
            if token is not None:
                return token
        return 0


def _eos_ids(model, tokenizer) -> set[int]:
    ids = set()
    for source in (getattr(model, "generation_config", None), model.config):
        value = getattr(source, "eos_token_id", None) if source is not None else None
        ids.update(value if isinstance(value, (list, tuple)) else [value] if value is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids
