"""Train a tokenizer on a corpus with Hugging Face ``tokenizers``, saved so ``AutoTokenizer`` loads it.

    >>> train_tokenizer(["corpus/"], Path("tok"), kind="bpe", vocab_size=32000)
    >>> AutoTokenizer.from_pretrained("tok")("你好, world")

Kinds:

- ``bpe``: byte-level BPE (GPT-2's): every string is encodable, nothing is ever unknown. The
  pre-tokenizer first isolates CJK runs from the rest, so merges stay inside a script, and
  ``max_token_length`` keeps a long unbroken run (Chinese has no spaces) from becoming one token.
- ``wordpiece``: BERT's, with BERT's normaliser and pre-tokenizer, which splits every CJK character off
  (as Chinese BERTs do) — the tokenizer for ``--objective mlm`` and whole-word masking.
- ``unigram``: SentencePiece's unigram LM with the Metaspace pre-tokenizer (CJK runs split off too).
- ``char``: one token per character seen (nanoGPT's Shakespeare vocabulary), plus <unk>/<|endoftext|>.

The corpus is streamed (an iterator of text chunks), never held in memory whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lmforge.data.corpus import corpus_files, iter_documents
from lmforge.errors import ConfigError

KINDS = ("bpe", "wordpiece", "unigram", "char")
EOT = "<|endoftext|>"
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# CJK ideographs, kana, hangul and full-width punctuation: a "run" of these is split from other text
CJK = r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]+"


def corpus_texts(paths: list[str | Path], text_column: str | None = None,
                 encoding: str = "utf-8") -> Iterator[list[str]]:
    for path in corpus_files(paths):
        yield from iter_documents(path, text_column, encoding)


def train_tokenizer(paths: list[str | Path], output: Path, kind: str = "bpe", vocab_size: int = 32000, *,
                    min_frequency: int = 2, max_token_length: int = 16, text_column: str | None = None,
                    encoding: str = "utf-8", lowercase: bool = False, progress: bool = False) -> dict:
    """Train a ``kind`` tokenizer on ``paths`` and save it in ``output``; returns a summary."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    if kind not in KINDS:
        raise ConfigError(f"tokenizer kind '{kind}' is not one of {', '.join(KINDS)}")
    if vocab_size < 1 and kind != "char":
        raise ConfigError(f"vocab_size must be at least 1, got {vocab_size}")
    cjk_runs = pre_tokenizers.Split(Regex(CJK), behavior="isolated")
    texts = corpus_texts(paths, text_column, encoding)
    if kind == "char":
        return _train_char(texts, output)
    if kind == "bpe":
        tok = Tokenizer(models.BPE())
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([cjk_runs, pre_tokenizers.ByteLevel(add_prefix_space=False)])
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[EOT],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      max_token_length=max_token_length, show_progress=progress)
        specials = {"bos_token": EOT, "eos_token": EOT, "unk_token": EOT, "pad_token": EOT}
    elif kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
        tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, handle_chinese_chars=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                            special_tokens=BERT_SPECIALS, show_progress=progress)
        # WordPiece's trainer has no max_token_length; BERT's pre-tokenizer already splits CJK characters
        specials = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                    "mask_token": "[MASK]"}
    else:
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([cjk_runs, pre_tokenizers.Metaspace()])
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=BERT_SPECIALS, unk_token="[UNK]",
                                          max_piece_length=max_token_length, show_progress=progress)
        specials = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                    "mask_token": "[MASK]"}
    tok.train_from_iterator(texts, trainer=trainer)
    if kind in ("wordpiece", "unigram"):
        cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return _save(tok, output, kind, specials)


def _train_char(texts: Iterator[list[str]], output: Path) -> dict:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    chars: set[str] = set()
    for chunk in texts:
        for text in chunk:
            chars.update(text)
    vocab = {c: i for i, c in enumerate(sorted(chars))}  # nanoGPT's order: sorted characters
    for special in ("<unk>", EOT):
        vocab[special] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")  # every character, \n too
    tok.decoder = decoders.Fuse()  # join the characters back with nothing between them
    tok.add_special_tokens(["<unk>", EOT])
    return _save(tok, output, "char", {"unk_token": "<unk>", "eos_token": EOT, "bos_token": EOT, "pad_token": EOT})


def _save(tok, output: Path, kind: str, specials: dict) -> dict:
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **specials)
    if kind == "char":
        fast.clean_up_tokenization_spaces = False
    output.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(output)
    return {"kind": kind, "vocab_size": len(fast), "path": str(output)}
