"""Model shapes by name, and the transformers configs built from them.

    >>> shape = resolve_shape("tiny", layers=None, heads=None, width=None, context=None)
    >>> config = causal_config(shape, vocab_size=8192, arch="gpt2", dropout=0.0)

Every artifact is a stock transformers class (BertForMaskedLM, GPT2LMHeadModel, LlamaForCausalLM), so it
loads with ``AutoModelForMaskedLM`` / ``AutoModelForCausalLM`` and nothing of lmforge.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmforge.errors import ConfigError

ARCHITECTURES = ("gpt2", "llama")


@dataclass(frozen=True)
class ModelShape:
    layers: int
    heads: int
    width: int
    context: int

    def as_dict(self) -> dict:
        return {"layers": self.layers, "heads": self.heads, "width": self.width, "context": self.context}


SIZES = {
    "tiny": ModelShape(layers=2, heads=2, width=128, context=128),     # ~0.4M non-embedding weights
    "small": ModelShape(layers=4, heads=4, width=256, context=256),    # ~3M: a few CPU-hours of text
    "base": ModelShape(layers=12, heads=12, width=768, context=512),   # BERT-base / GPT-2 small (85M)
}


def resolve_shape(size: str, layers: int | None, heads: int | None, width: int | None,
                  context: int | None) -> ModelShape:
    """The named size with any flag given overriding its field; every problem reported at once."""
    if size not in SIZES:
        raise ConfigError(f"size '{size}' is not one of {', '.join(SIZES)}")
    base = SIZES[size]
    shape = ModelShape(layers or base.layers, heads or base.heads, width or base.width, context or base.context)
    problems = [f"{name} must be at least 1, got {value}" for name, value in shape.as_dict().items() if value < 1]
    if not problems and shape.width % shape.heads:
        problems.append(f"width {shape.width} is not divisible by heads {shape.heads}; pick a width that "
                        f"is a multiple of the head count (e.g. {shape.heads * max(1, shape.width // shape.heads)})")
    if problems:
        raise ConfigError(problems)
    return shape


def causal_config(shape: ModelShape, vocab_size: int, arch: str, dropout: float, bos_id=None, eos_id=None):
    if arch == "gpt2":
        from transformers import GPT2Config

        return GPT2Config(vocab_size=vocab_size, n_positions=shape.context, n_embd=shape.width,
                          n_layer=shape.layers, n_head=shape.heads, resid_pdrop=dropout, embd_pdrop=dropout,
                          attn_pdrop=dropout, bos_token_id=bos_id, eos_token_id=eos_id, tie_word_embeddings=True)
    if arch == "llama":
        from transformers import LlamaConfig

        return LlamaConfig(vocab_size=vocab_size, hidden_size=shape.width, intermediate_size=_swiglu_width(shape.width),
                           num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
                           num_key_value_heads=shape.heads, max_position_embeddings=shape.context,
                           attention_dropout=dropout, bos_token_id=bos_id, eos_token_id=eos_id,
                           tie_word_embeddings=True)
    raise ConfigError(f"arch '{arch}' is not one of {', '.join(ARCHITECTURES)}")


def _swiglu_width(width: int) -> int:
    """Llama's feed-forward width: 2/3 of 4×, rounded up to a multiple of 64 (same FLOPs as GPT's 4×)."""
    return -(-int(8 * width / 3) // 64) * 64


def masked_config(shape: ModelShape, vocab_size: int, dropout: float, pad_id: int):
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=shape.width, num_hidden_layers=shape.layers,
                      num_attention_heads=shape.heads, intermediate_size=4 * shape.width,
                      max_position_embeddings=shape.context, hidden_dropout_prob=dropout,
                      attention_probs_dropout_prob=dropout, pad_token_id=pad_id)


def training_flops_per_token(model, context: int, head_share: float = 1.0) -> float:
    """Forward + backward FLOPs per token: 6 × (weights in matrix multiplies) + 12 × layers × width ×
    context for attention (the PaLM paper's appendix B estimate, used for MFU). The output projection runs
    on ``head_share`` of the tokens (masked-LM: only the masked ones reach it)."""
    config = model.config
    layers = getattr(config, "num_hidden_layers", None) or config.n_layer
    width = getattr(config, "hidden_size", None) or config.n_embd
    embeddings = sum(p.numel() for n, p in model.named_parameters() if "embed" in n or ".wte." in n or ".wpe." in n)
    matmul_weights = sum(p.numel() for p in model.parameters()) - embeddings
    output_projection = config.vocab_size * width  # the (tied) output layer is a matmul on every token
    return 6.0 * (matmul_weights + head_share * output_projection) + 12.0 * layers * width * context
