"""A Llama-family decoder over a preallocated KV cache with one row per *slot*: the fast path of generation.

Why not ``model.generate``: on a CPU a 135M-parameter model spends a large share of each step in Python
(cache objects growing by ``torch.cat``, mask building, logits processors). Here a step is the bare
arithmetic: fused q/k/v and gate/up projections (fewer, larger matmuls), ``F.rms_norm``, one
``scaled_dot_product_attention`` call with grouped-query heads, keys and values written in place into a
cache allocated once. Optionally the decode step's projections are int8 (``torch.ao`` dynamic quantization):
the step is memory-bound, and int8 weights are a quarter of the bytes. Dynamic quantization scales each
layer's input activations per tensor, so where a few values are huge it rounds all the others away; two
places are therefore left in fp32 (``bench/generation_bench.py quality`` measures what each costs):

* the prompt pass: a prompt's few tokens with huge activations (the first one above all) would set the
  scale for all its tokens and spoil the cache every later token reads;
* the MLP down projections, whose inputs carry the outlier channels (and whose per-tensor scale would
  otherwise be shared by every request batched into the step).

Slots make continuous batching cheap: the rows ``0..n-1`` of the cache are the running sequences, each at
its own position; a finished row is replaced by the last one (:meth:`move`), so the running rows stay a
contiguous view and a decode step never gathers.

    >>> decoder = LlamaDecoder(hf_model, slots=8, max_len=2048)
    >>> logits = decoder.prefill(0, prompt_ids)            # (vocab,) for the next token of slot 0
    >>> logits = decoder.decode([next_token])              # (1, vocab): one step for rows 0..0
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

SUPPORTED = ("llama", "mistral", "qwen2")
INT8_PROJECTIONS = ("qkv", "o", "gate_up")  # what --int8 quantizes in each block (with the LM head)


def supports_fast_decoder(model) -> bool:
    config = model.config
    return (getattr(config, "model_type", None) in SUPPORTED and not getattr(config, "sliding_window", None)
            and not getattr(config, "mlp_bias", False) and hasattr(model, "model")
            and hasattr(model.model, "rotary_emb"))


def _fused_linear(*linears: nn.Linear) -> nn.Linear:
    weight = torch.cat([m.weight.detach() for m in linears], 0)
    bias = None if linears[0].bias is None else torch.cat([m.bias.detach() for m in linears], 0)
    fused = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    fused.weight = nn.Parameter(weight, requires_grad=False)
    if bias is not None:
        fused.bias = nn.Parameter(bias, requires_grad=False)
    return fused


class _Block(nn.Module):
    def __init__(self, layer, eps: float):
        super().__init__()
        attn, mlp = layer.self_attn, layer.mlp
        self.qkv = _fused_linear(attn.q_proj, attn.k_proj, attn.v_proj)
        self.o = attn.o_proj
        self.gate_up = _fused_linear(mlp.gate_proj, mlp.up_proj)
        self.down = mlp.down_proj
        self.norm1, self.norm2 = layer.input_layernorm.weight.detach(), layer.post_attention_layernorm.weight.detach()
        self.eps = eps


class LlamaDecoder:
    """Prefill and decode for a Llama-family ``*ForCausalLM`` (weights shared with it unless int8)."""

    def __init__(self, model, slots: int = 8, max_len: int = 2048, int8: bool = False):
        config = model.config
        self.heads = config.num_attention_heads
        self.kv_heads = getattr(config, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.vocab = config.vocab_size
        self.slots, self.max_len = slots, min(max_len, getattr(config, "max_position_embeddings", max_len))
        eps = config.rms_norm_eps
        self.embed = model.model.embed_tokens.weight.detach()
        self.norm = model.model.norm.weight.detach()
        self.rotary = model.model.rotary_emb
        self.blocks = nn.ModuleList(_Block(layer, eps) for layer in model.model.layers)
        self.lm_head = model.lm_head
        self.prompt_blocks, self.prompt_head = self.blocks, self.lm_head  # fp32 even when decoding in int8
        self.eps = eps
        if int8:
            from torch.ao.quantization import quantize_dynamic

            head = nn.Linear(self.embed.shape[1], self.vocab, bias=False)
            head.weight = nn.Parameter(model.lm_head.weight.detach().clone(), requires_grad=False)
            # The down projections stay fp32: their inputs carry the outlier activations, and one per-tensor
            # scale over them (and over the rows batched together) costs most of int8's error.
            names = {f"{i}.{name}" for i in range(len(self.blocks)) for name in INT8_PROJECTIONS}
            with warnings.catch_warnings():  # torch 2.13 deprecates torch.ao quantization in favour of torchao
                warnings.simplefilter("ignore")
                self.blocks = quantize_dynamic(self.blocks, names, dtype=torch.qint8)
                self.lm_head = quantize_dynamic(nn.Sequential(head), {nn.Linear}, dtype=torch.qint8)[0]
            for block, fp32 in zip(self.blocks, self.prompt_blocks):
                block.down = fp32.down  # shared, not a copy
        dtype = self.embed.dtype
        shape = (len(self.blocks), slots, self.kv_heads, self.max_len, self.head_dim)
        self.k_cache = torch.zeros(shape, dtype=dtype)  # (layers, slots, kv_heads, max_len, head_dim)
        self.v_cache = torch.zeros(shape, dtype=dtype)
        self.lengths = [0] * slots  # tokens held per slot

    # --- the two passes ---------------------------------------------------------------------------------

    @torch.inference_mode()
    def prefill(self, slot: int, ids: list[int], every_position: bool = False) -> torch.Tensor:
        """Run the prompt ``ids`` into ``slot`` (from position 0); the logits (vocab,) of the next token, or with
        ``every_position`` the (T, vocab) logits after each prompt token (to score a text)."""
        T = len(ids)
        if T >= self.max_len:
            raise ValueError(f"prompt of {T} tokens does not fit the cache of {self.max_len}")
        x = F.embedding(torch.tensor([ids]), self.embed)  # (1, T, C)
        cos, sin = self.rotary(x, torch.arange(T)[None])  # (1, T, D)
        for i, block in enumerate(self.prompt_blocks):
            q, k, v = self._qkv(block, x, cos, sin)  # (1, H, T, D), (1, KV, T, D)
            self.k_cache[i, slot, :, :T] = k[0]
            self.v_cache[i, slot, :, :T] = v[0]
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            x = self._finish_block(block, x, att)
        self.lengths[slot] = T
        return self._logits(x[0] if every_position else x[0, -1], self.prompt_head)

    @torch.inference_mode()
    def decode(self, tokens: list[int]) -> torch.Tensor:
        """One step for rows ``0..len(tokens)-1``, each fed its next token; (B, vocab) logits."""
        B = len(tokens)
        pos = torch.tensor(self.lengths[:B])  # (B,) where each row's new token goes
        if int(pos.max()) >= self.max_len:
            raise ValueError(f"a sequence reached the cache length {self.max_len}")
        T = int(pos.max()) + 1
        x = F.embedding(torch.tensor(tokens)[:, None], self.embed)  # (B, 1, C)
        cos, sin = self.rotary(x, pos[:, None])
        rows = torch.arange(B)
        # Rows shorter than T must not see the stale cache entries past their own length.
        mask = None if B == 1 else (torch.arange(T)[None, :] <= pos[:, None])[:, None, None, :]  # (B, 1, 1, T)
        for i, block in enumerate(self.blocks):
            q, k, v = self._qkv(block, x, cos, sin)  # (B, H, 1, D), (B, KV, 1, D)
            self.k_cache[i, rows, :, pos] = k[:, :, 0]
            self.v_cache[i, rows, :, pos] = v[:, :, 0]
            keys, values = self.k_cache[i, :B, :, :T], self.v_cache[i, :B, :, :T]  # views, no copy
            att = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, enable_gqa=True)
            x = self._finish_block(block, x, att)
        for b in range(B):
            self.lengths[b] += 1
        return self._logits(x[:, -1], self.lm_head)

    def move(self, src: int, dst: int) -> None:
        """Copy slot ``src`` into ``dst`` (keeps the running rows contiguous when one finishes)."""
        n = self.lengths[src]
        self.k_cache[:, dst, :, :n] = self.k_cache[:, src, :, :n]
        self.v_cache[:, dst, :, :n] = self.v_cache[:, src, :, :n]
        self.lengths[dst] = n

    # --- pieces -------------------------------------------------------------------------------------------

    def _qkv(self, block: _Block, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
        B, T, _ = x.shape
        h = F.rms_norm(x, (x.shape[-1],), block.norm1, block.eps)
        qkv = block.qkv(h)  # (B, T, (H + 2 KV) D)
        D, H, KV = self.head_dim, self.heads, self.kv_heads
        q, k, v = qkv.split([H * D, KV * D, KV * D], dim=-1)
        q = q.view(B, T, H, D).transpose(1, 2)
        k = k.view(B, T, KV, D).transpose(1, 2)
        v = v.view(B, T, KV, D).transpose(1, 2)
        cos, sin = cos[:, None], sin[:, None]  # (B, 1, T, D): broadcast over heads
        return q * cos + _rotate_half(q) * sin, k * cos + _rotate_half(k) * sin, v

    def _finish_block(self, block: _Block, x: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        x = x + block.o(att.transpose(1, 2).reshape(B, T, self.heads * self.head_dim))
        h = F.rms_norm(x, (C,), block.norm2, block.eps)
        gate, up = block.gate_up(h).chunk(2, dim=-1)
        return x + block.down(F.silu(gate) * up)

    def _logits(self, h: torch.Tensor, head: nn.Module) -> torch.Tensor:
        return head(F.rms_norm(h, (h.shape[-1],), self.norm, self.eps)).float()


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)
