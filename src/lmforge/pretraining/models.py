"""The model a pretraining run trains: built from a shape (from scratch) or loaded (--from-model).

Continued masked-LM pretraining of a checkpoint without an MLM head (sentence-transformers' MiniLM ships
a bare ``BertModel``) creates the head — transform dense + LayerNorm freshly initialised, the output
projection tied to the word embeddings, so the only new matrix is the small transform — and keeps the
checkpoint's pooler, so ``lmforge finetune --model DIR`` starts from the pooler the model came with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lmforge.errors import ConfigError
from lmforge.pretraining.config import PretrainConfig
from lmforge.pretraining.sizes import causal_config, masked_config, resolve_shape, training_flops_per_token

DEFAULT_CONTINUED_CONTEXT = 128  # MiniLM's fine-tuning length; longer costs quadratically more


@dataclass
class BuiltModel:
    model: object
    context: int
    origin: dict  # from scratch (shape) or the checkpoint it continues, and what was created
    pooler: dict = field(default_factory=dict)  # the checkpoint's pooler weights, re-attached on save

    def flops_per_token(self, head_share: float = 1.0) -> float:
        return training_flops_per_token(self.model, self.context, head_share)

    def embedding_lr_scale(self, scale: float):
        """``lr_scale`` for THE loop: the word embeddings (and the head tied to them) at ``scale`` × lr."""
        embeddings = self.model.get_input_embeddings().weight
        name = next(n for n, p in self.model.named_parameters() if p is embeddings)
        return lambda parameter: scale if parameter == name else 1.0

    def describe(self) -> dict:
        return {**self.origin, "parameters": sum(p.numel() for p in self.model.parameters())}

    def save(self, output: Path, tokenizer) -> None:
        if self.pooler:
            from transformers.models.bert.modeling_bert import BertPooler

            pooler = BertPooler(self.model.config)
            pooler.load_state_dict(self.pooler)
            self.model.bert.pooler = pooler  # saved as bert.pooler.*: AutoModelForMaskedLM ignores it
        output.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(output, safe_serialization=True)
        tokenizer.save_pretrained(output)
        if self.pooler:
            self.model.bert.pooler = None


def build_model(cfg: PretrainConfig, tokenizer) -> BuiltModel:
    if cfg.from_model:
        return load_for_continued_pretraining(cfg, tokenizer)
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    shape = resolve_shape(cfg.size, cfg.layers, cfg.heads, cfg.width, cfg.context)
    vocab = len(tokenizer)
    if cfg.objective == "clm":
        config = causal_config(shape, vocab, cfg.arch, cfg.dropout, tokenizer.bos_token_id, tokenizer.eos_token_id)
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    else:
        config = masked_config(shape, vocab, cfg.dropout, tokenizer.pad_token_id)
        model = AutoModelForMaskedLM.from_config(config, attn_implementation="sdpa")
    return BuiltModel(model, shape.context, {"from": "scratch", "shape": shape.as_dict()})


def load_for_continued_pretraining(cfg: PretrainConfig, tokenizer) -> BuiltModel:
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    from lmforge.models.pretrained import quiet_transformers, resolve_model_dir, weights_sha256
    from lmforge.models.vocabulary import grow_embeddings

    model_dir = resolve_model_dir(cfg.from_model)
    loader = AutoModelForMaskedLM if cfg.objective == "mlm" else AutoModelForCausalLM
    with quiet_transformers():
        try:
            model, info = loader.from_pretrained(model_dir, output_loading_info=True, attn_implementation="sdpa")
        except ValueError as e:
            raise ConfigError(f"{model_dir} cannot be loaded for --objective {cfg.objective} ({e}); use an "
                              "encoder (BERT family) for mlm and a decoder for clm") from None
    created = sorted(info["missing_keys"])
    if any(not k.startswith(("cls.", "lm_head")) for k in created):
        raise ConfigError(f"{model_dir} lacks weights of the model body ({', '.join(created[:5])} …); is it "
                          f"a {cfg.objective} architecture?")
    if created and cfg.objective == "mlm":
        model.tie_weights()  # the decoder is the word-embedding matrix; only the transform is new
    grown = grow_embeddings(model, tokenizer)  # the tokens --extend-vocab added (the tied head grows too)
    pooler = {}
    weights = model_dir / "model.safetensors"
    if cfg.objective == "mlm" and weights.exists():
        state = load_file(weights)
        pooler = {k.split("pooler.", 1)[1]: v for k, v in state.items() if "pooler." in k}
    limit = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", 512)
    context = cfg.context or min(DEFAULT_CONTINUED_CONTEXT, limit)
    if context > limit:
        raise ConfigError(f"--context {context} is beyond what {model_dir.name} was trained for ({limit})")
    origin = {"from": str(model_dir), "sha256": weights_sha256(model_dir), "created": created,
              "head_tied_to_embeddings": bool(created) and cfg.objective == "mlm",
              "embeddings_added": grown}
    return BuiltModel(model, context, origin, pooler)
