"""The generation engine on a tiny Llama: the fast decoder equals transformers, batching changes nothing,
sampling knobs behave, stop strings and streaming text are exact."""

from __future__ import annotations

import threading

import pytest
import torch

from lmforge.generation.engine import GenerationEngine, HFDecoder
from lmforge.generation.sampling import SamplingParams, filter_top_k_top_p, apply_repetition_penalty
from lmforge.generation.scheduler import GenerationScheduler
from lmforge.generation.streaming import TextStream


@pytest.fixture(scope="module")
def engine(tiny_llama):
    return GenerationEngine.load(tiny_llama, slots=4, max_len=256)


def hf_greedy(engine, ids, n):
    out = engine.model.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False,
                                eos_token_id=None, pad_token_id=2)
    return out[0, len(ids):].tolist()


def test_fast_decoder_greedy_equals_transformers_generate(engine):
    assert engine.backend == "fast"
    ids = engine.prompt_ids("hello world")
    ours = [c.token for c in engine.stream(ids, SamplingParams(max_tokens=24, ignore_eos=True))]
    assert ours == hf_greedy(engine, ids, 24)


def test_hf_fallback_decoder_gives_the_same_tokens(engine):
    ids = engine.prompt_ids("fallback path")
    fast = [c.token for c in engine.stream(ids, SamplingParams(max_tokens=12, ignore_eos=True))]
    fast_decoder, engine.decoder = engine.decoder, HFDecoder(engine.model, slots=1, max_len=256)
    try:
        slow = [c.token for c in engine.stream(ids, SamplingParams(max_tokens=12, ignore_eos=True))]
    finally:
        engine.decoder = fast_decoder
    assert fast == slow


def test_continuous_batching_gives_each_request_its_own_result(engine):
    prompts = [engine.prompt_ids(t) for t in ("a", "a much longer prompt here", "mid length", "b")]
    params = [SamplingParams(max_tokens=n, ignore_eos=True, temperature=t, seed=7)
              for n, t in ((10, 0), (5, 0.8), (16, 0), (3, 0.8))]
    alone = [[c.token for c in engine.stream(p, q)] for p, q in zip(prompts, params)]
    scheduler = GenerationScheduler(engine).start()
    results = {i: [] for i in range(4)}
    done = threading.Semaphore(0)

    def collect(i):
        def on_event(chunk):
            results[i].append(chunk.token)
            if chunk.finish_reason:
                done.release()
        return on_event
    try:
        for i in range(4):  # more requests than... joining a running batch at different steps
            scheduler.submit(prompts[i], params[i], collect(i))
        for _ in range(4):
            assert done.acquire(timeout=60)
    finally:
        scheduler.stop(5)
    assert [results[i] for i in range(4)] == alone


def test_a_cancelled_request_frees_its_slot(engine):
    scheduler = GenerationScheduler(engine).start()
    seen, finished = [], threading.Event()
    try:
        handle = scheduler.submit(engine.prompt_ids("x"), SamplingParams(max_tokens=200, ignore_eos=True),
                                  lambda c: seen.append(c))
        while not seen:
            pass
        handle.cancel()
        scheduler.submit(engine.prompt_ids("y"), SamplingParams(max_tokens=2, ignore_eos=True),
                         lambda c: c.finish_reason and finished.set())
        assert finished.wait(30)
        assert len(seen) < 200 and not scheduler.running
    finally:
        scheduler.stop(5)


def test_seeded_sampling_repeats_and_top_k_1_is_greedy(engine):
    ids = engine.prompt_ids("seed")
    sampled = SamplingParams(max_tokens=16, temperature=1.0, seed=3, ignore_eos=True)
    first = [c.token for c in engine.stream(ids, sampled)]
    assert first == [c.token for c in engine.stream(ids, sampled)]
    greedy = [c.token for c in engine.stream(ids, SamplingParams(max_tokens=16, ignore_eos=True))]
    top1 = [c.token for c in engine.stream(ids, SamplingParams(max_tokens=16, temperature=1.5, top_k=1, seed=1,
                                                               ignore_eos=True))]
    assert top1 == greedy


def test_top_p_keeps_the_nucleus_and_repetition_penalty_follows_ctrl():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    kept = filter_top_k_top_p(logits, 0, 0.75)
    assert torch.isfinite(kept).tolist() == [True, True, False, False]
    penalised = apply_repetition_penalty(torch.tensor([2.0, -2.0, 1.0]), torch.tensor([0, 1]), 2.0)
    assert penalised.tolist() == [1.0, -4.0, 1.0]


def test_text_stream_holds_back_stop_prefixes_and_cut_characters(engine):
    tok = engine.tokenizer
    ids = tok("say é then STOP here", add_special_tokens=False)["input_ids"]
    stream = TextStream(tok, stop=["STOP"])
    pieces = []
    for i in ids:
        pieces.append(stream.push(i))
        if stream.stopped:
            break
    assert "".join(pieces) + stream.flush() == "say é then "
    assert all("\ufffd" not in p for p in pieces)


def test_max_tokens_and_eos_finish_reasons(engine):
    ids = engine.prompt_ids("count")
    chunks = list(engine.stream(ids, SamplingParams(max_tokens=5, ignore_eos=True)))
    assert len(chunks) == 5 and chunks[-1].finish_reason == "length"
    with pytest.raises(Exception, match="context"):
        engine.fit(list(range(300)), SamplingParams())


def test_a_sliding_window_runs_a_completion_past_the_context(tiny_llama):
    small = GenerationEngine.load(tiny_llama, slots=1, max_len=32)
    ids = small.prompt_ids("hello world")
    params = SamplingParams(max_tokens=80, ignore_eos=True)
    assert len(list(small.stream(ids, params))) < 32  # without the window: cut to the context
    ours = [c.token for c in small.stream(ids, params, slide=True)]
    assert len(ours) == 80
    window, expected = list(ids), []  # the same windows, each run whole through transformers (no cache)
    for _ in range(80):
        with torch.inference_mode():
            token = int(small.model(input_ids=torch.tensor([window])).logits[0, -1].argmax())
        expected.append(token)
        window.append(token)
        if len(window) >= 32:
            window = window[-16:]
    assert ours == expected


def test_int8_runs_the_prompt_in_fp32_and_decodes_close_to_it(engine):
    from lmforge.generation.llama_fast import LlamaDecoder

    int8 = LlamaDecoder(engine.model, slots=1, max_len=256, int8=True)
    ids = engine.prompt_ids("quantized weights")
    assert torch.equal(int8.prefill(0, ids), engine.decoder.prefill(0, ids))  # the prompt's cache is fp32's
    fp32_step, int8_step = engine.decoder.decode([ids[-1]]), int8.decode([ids[-1]])
    assert not torch.equal(int8_step, fp32_step)  # the decode step is quantized ...
    assert torch.nn.functional.cosine_similarity(int8_step, fp32_step).item() > 0.99  # ... and close to fp32
