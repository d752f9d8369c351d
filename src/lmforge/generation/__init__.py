"""Text generation: instruction models converted, sampled, chatted with, fine-tuned (SFT) and served.

    convert.py        the bundled SmolLM2 GGUF → a cached Hugging Face directory (and any .gguf file)
    sampling.py       SamplingParams and the logits pipeline (temperature, top-k, top-p, repetition penalty)
    llama_fast.py     a Llama decoder over a preallocated per-slot KV cache (the fast path, int8 optional)
    engine.py         GenerationEngine: load, prefill, decode, stream text with stop strings
    scheduler.py      continuous batching for the server: requests join and leave a running batch
    chat_template.py  the model's chat template (ChatML when it has none)
    embeddings.py     sentence-transformers encoders: their own pooling and normalisation
    sft_data.py sft.py   supervised fine-tuning data (Alpaca, chat JSONL, CSV) and recipe (THE loop)
    cli.py            ``lmforge generate`` and ``lmforge chat``

Needs the ``gen`` extra for GGUF conversion (``pip install 'lmforge[gen]'``).
"""
