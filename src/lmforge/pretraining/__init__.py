"""Self-supervised pretraining: tokenizer training, masked-LM and causal-LM from scratch, continued
pretraining of an existing model on domain text. Every objective runs through THE loop
(:mod:`lmforge.training.loop`) with a streamed plan of packed token blocks."""
