"""Unlabelled text corpora for pretraining: read, tokenize once to disk, pack into fixed-length blocks.

A corpus is any mix of plain-text files (running text: line breaks kept, the file is one document),
CSV/TSV/JSONL/Parquet files (one document per row of the text column) and folders of those. It is read
and tokenized as a stream, in chunks, into a flat file of token ids (``tokens.bin``, uint16 or uint32,
documents separated by the end-of-text/separator token), so memory does not grow with the corpus; the
blocks are then read from that file through a memory map.

    >>> corpus = tokenize_corpus(["books/", "reviews.jsonl"], tokenizer, Path("run/data"))
    >>> train, val = corpus.split(val_fraction=0.1)       # the last 10% of the tokens is validation
    >>> blocks = PackedBlocks(train, block_tokens=65)      # 64 inputs + the next token to predict
    >>> blocks.batch(0, batch_size=12, seed=0)             # (12, 65) int64, deterministic per index

The validation split is by position, like nanoGPT's ``prepare.py``: the first ``1 - val_fraction`` of the
token stream trains, the rest validates. (For a folder of many documents that puts the last files in the
validation set; shuffle or order the inputs if that would bias it.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lmforge.data.decoding import decoded_lines
from lmforge.data.sources import FORMATS
from lmforge.files import sha256_file
from lmforge.errors import DataError

TEXT_SUFFIXES = (".txt", ".text", ".md")
TABLE_SUFFIXES = tuple(s for s, kind in FORMATS.items() if kind in ("csv", "tsv", "jsonl", "parquet"))
LINES_PER_CHUNK = 2000  # plain-text lines tokenized together (tokenizers batches them across threads)


def corpus_files(paths: list[str | Path]) -> list[Path]:
    """The files of a corpus, folders expanded (sorted, hidden files skipped), in the order given."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                           and p.suffix.lower() in TEXT_SUFFIXES + TABLE_SUFFIXES)
            if not found:
                raise DataError("is a folder without text files", path=path,
                                hint=f"put {', '.join(TEXT_SUFFIXES + TABLE_SUFFIXES)} files in it")
            files.extend(found)
        elif path.is_file():
            if path.suffix.lower() not in TEXT_SUFFIXES + TABLE_SUFFIXES:
                raise DataError(f"unknown corpus file type '{path.suffix or '(none)'}'", path=path,
                                hint=f"use one of {', '.join(TEXT_SUFFIXES + TABLE_SUFFIXES)}")
            files.append(path)
        else:
            raise DataError("does not exist", path=path, hint="pass corpus files or folders")
    return files


def iter_documents(path: Path, text_column: str | None = None, encoding: str = "utf-8") -> Iterator[list[str]]:
    """Chunks of text from one file; a document ends at the end of each chunk's last element.

    Plain text yields chunks of lines (line breaks kept) that together are one document (the file);
    tables yield chunks of rows, each row its own document. The caller tells them apart by ``is_table``.
    """
    if path.suffix.lower() in TEXT_SUFFIXES:
        chunk: list[str] = []
        for line in decoded_lines(path, encoding):
            chunk.append(line)
            if len(chunk) >= LINES_PER_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        return
    from lmforge.data.reading import chunked, open_rows

    source = open_rows(path, text_column, None, encoding)
    for rows in chunked((text for _, text, _ in source.rows if text.strip()), LINES_PER_CHUNK):
        yield rows


def is_table(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


@dataclass
class TokenFile:
    """A flat file of token ids on disk (a slice of it, for the splits)."""

    path: Path
    dtype: str
    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start

    def array(self) -> np.ndarray:
        data = np.memmap(self.path, dtype=self.dtype, mode="r")
        return data[self.start:self.stop]


@dataclass
class TokenizedCorpus:
    tokens: TokenFile
    word_starts: TokenFile | None  # 1 where a token begins a word (whole-word masking), else None
    files: list[dict]  # path, sha256, bytes, documents, tokens per input file

    def split(self, val_fraction: float) -> tuple[TokenizedCorpus, TokenizedCorpus]:
        n = len(self.tokens)
        cut = self.tokens.start + int(n * (1 - val_fraction))  # as nanoGPT's prepare.py: int(n * 0.9)

        def part(f: TokenFile | None, a: int, b: int) -> TokenFile | None:
            return None if f is None else TokenFile(f.path, f.dtype, a, b)

        first, last = self.tokens.start, self.tokens.stop
        return (TokenizedCorpus(part(self.tokens, first, cut), part(self.word_starts, first, cut), self.files),
                TokenizedCorpus(part(self.tokens, cut, last), part(self.word_starts, cut, last), self.files))


def fingerprint_files(files: list[Path]) -> list[dict]:
    return [{"path": str(f), "sha256": sha256_file(f), "bytes": f.stat().st_size} for f in files]


def tokenize_corpus(paths: list[str | Path], tokenizer, directory: Path, *, separator_id: int | None,
                    text_column: str | None = None, encoding: str = "utf-8", word_boundaries=None,
                    progress: bool = True) -> TokenizedCorpus:
    """Tokenize ``paths`` into ``directory/tokens.bin`` (reused when the inputs' hashes are unchanged).

    ``separator_id`` is appended after every document (GPT's <|endoftext|>, BERT's [SEP]).
    ``word_boundaries(text) -> set of character offsets where words start`` (e.g. jieba for Chinese)
    also writes ``word_starts.bin`` for whole-word masking.
    """
    from tqdm.auto import tqdm

    files = corpus_files(paths)
    fingerprints = fingerprint_files(files)
    directory.mkdir(parents=True, exist_ok=True)
    meta_path = directory / "tokens.json"
    dtype = "uint16" if len(tokenizer) <= 65535 else "uint32"
    wanted = {"files": [{k: f[k] for k in ("path", "sha256")} for f in fingerprints], "dtype": dtype,
              "tokenizer_size": len(tokenizer), "separator_id": separator_id,
              "word_starts": word_boundaries is not None, "text_column": text_column}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("wanted") == wanted and (directory / "tokens.bin").exists():
            return _opened(directory, meta)

    tmp_tokens = directory / ".tokens.bin.tmp"
    tmp_words = directory / ".word_starts.bin.tmp"
    bar = tqdm(total=sum(f["bytes"] for f in fingerprints), unit="B", unit_scale=True, desc="tokenizing",
               disable=not progress, mininterval=1.0)
    backend = tokenizer.backend_tokenizer  # the Rust tokenizer: batches are encoded in parallel
    separator = (np.asarray([separator_id], dtype=dtype).tobytes() if separator_id is not None else b"")
    written_any = False  # separators go *between* documents: a single file keeps nanoGPT's exact split
    with open(tmp_tokens, "wb") as out, open(tmp_words, "wb") as words_out:
        for path, info in zip(files, fingerprints):
            documents = tokens = 0
            table = is_table(path)
            for chunk_number, chunk in enumerate(iter_documents(path, text_column, encoding)):
                # running text: one string per chunk of lines (one call into Rust, no per-line objects)
                texts = chunk if table else ["".join(chunk)]
                encodings = backend.encode_batch(texts, add_special_tokens=False)
                for i, encoded in enumerate(encodings):
                    if written_any and separator and (table or chunk_number == 0):
                        out.write(separator)
                        words_out.write(b"\x01" if word_boundaries is not None else b"")
                        tokens += 1
                    written_any = True
                    out.write(np.asarray(encoded.ids, dtype=dtype).tobytes())
                    if word_boundaries is not None:
                        flags = _word_start_flags(texts[i], encoded.offsets, word_boundaries)
                        words_out.write(np.asarray(flags, dtype=np.uint8).tobytes())
                    tokens += len(encoded.ids)
                documents += len(chunk) if table else 0
                bar.update(sum(len(t.encode(encoding, "replace")) for t in chunk))
            info.update(documents=documents if table else 1, tokens=tokens)
    bar.close()
    total = sum(f["tokens"] for f in fingerprints)
    if total < 2:
        raise DataError(f"holds {total} tokens; too little text to pretrain on", path=files[0],
                        hint="pass more text")
    os.replace(tmp_tokens, directory / "tokens.bin")
    if word_boundaries is not None:
        os.replace(tmp_words, directory / "word_starts.bin")
    else:
        tmp_words.unlink(missing_ok=True)
    meta = {"wanted": wanted, "files": fingerprints, "tokens": total}
    meta_path.write_text(json.dumps(meta, indent=2))
    return _opened(directory, meta)


def _opened(directory: Path, meta: dict) -> TokenizedCorpus:
    dtype, n = meta["wanted"]["dtype"], meta["tokens"]
    words = TokenFile(directory / "word_starts.bin", "uint8", 0, n) if meta["wanted"]["word_starts"] else None
    return TokenizedCorpus(TokenFile(directory / "tokens.bin", dtype, 0, n), words, meta["files"])


def _word_start_flags(text: str, offsets, word_boundaries) -> list[int]:
    """1 for each token that begins a word: after whitespace, or at one of ``word_boundaries(text)``."""
    starts = word_boundaries(text)
    flags, previous_end = [], -1
    for begin, end in offsets:
        flags.append(int(begin in starts or begin != previous_end or begin == 0))
        previous_end = end
    return flags


def jieba_word_starts(text: str) -> set[int]:
    """Character offsets where jieba's words begin (Chinese whole-word masking)."""
    import jieba

    starts, position = set(), 0
    for word in jieba.cut(text):
        starts.add(position)
        position += len(word)
    return starts


class PackedBlocks:
    """Fixed-length blocks of a token stream, in a seeded order that changes every epoch.

    Block ``j`` of epoch ``e`` starts at ``shift_e + j * stride``, where ``shift_e`` is a seeded offset
    in ``[0, stride)``: every epoch sees the whole stream with block boundaries in new places (a cheap
    form of nanoGPT's random windows), and every position is still reached once per epoch. With
    ``block_tokens = stride + 1`` consecutive blocks overlap by one token: inputs of length ``stride``
    and the next token to predict for each of them.
    """

    def __init__(self, tokens: TokenizedCorpus, block_tokens: int, stride: int | None = None):
        self.tokens = tokens.tokens.array()
        self.words = tokens.word_starts.array() if tokens.word_starts is not None else None
        self.block_tokens = block_tokens
        self.stride = stride or block_tokens
        usable = len(self.tokens) - (self.stride - 1) - block_tokens  # room left at the largest shift
        self.blocks_per_epoch = usable // self.stride + 1 if usable >= 0 else 0
        if self.blocks_per_epoch < 1:
            raise DataError(f"holds {len(self.tokens)} tokens, fewer than one block of {block_tokens} "
                            f"(shifted by up to {self.stride})", hint="pass more text or a shorter --context")
        self._epoch_cache: tuple[int, int, np.ndarray, int] | None = None

    def _epoch(self, epoch: int, seed: int) -> tuple[np.ndarray, int]:
        if self._epoch_cache is None or self._epoch_cache[:2] != (epoch, seed):
            rng = np.random.default_rng([seed, epoch])
            shift = int(rng.integers(0, self.stride)) if self.stride > 1 else 0
            count = (len(self.tokens) - shift - self.block_tokens) // self.stride + 1
            self._epoch_cache = (epoch, seed, rng.permutation(count), shift)
        return self._epoch_cache[2], self._epoch_cache[3]

    def batch(self, index: int, batch_size: int, seed: int) -> dict[str, np.ndarray]:
        """Global batch number ``index`` (0, 1, …, across epochs): ``input_ids`` (B, block_tokens) and, when
        the corpus has word starts, ``word_starts`` (B, block_tokens)."""
        first = index * batch_size
        rows = []
        while len(rows) < batch_size:
            epoch, within = divmod(first + len(rows), self.blocks_per_epoch)
            order, shift = self._epoch(epoch, seed)
            rows.append(shift + int(order[within % len(order)]) * self.stride)
        out = {"input_ids": np.stack([self.tokens[r:r + self.block_tokens] for r in rows]).astype(np.int64)}
        if self.words is not None:
            out["word_starts"] = np.stack([self.words[r:r + self.block_tokens] for r in rows]).astype(np.int64)
        return out

    def sequential(self, batch_size: int) -> Iterator[dict[str, np.ndarray]]:
        """Every block once, in order, without a shift (for validation)."""
        starts = range(0, len(self.tokens) - self.block_tokens + 1, self.stride)
        for i in range(0, len(starts), batch_size):
            rows = starts[i:i + batch_size]
            out = {"input_ids": np.stack([self.tokens[r:r + self.block_tokens] for r in rows]).astype(np.int64)}
            if self.words is not None:
                out["word_starts"] = np.stack([self.words[r:r + self.block_tokens] for r in rows]).astype(np.int64)
            yield out


def corpus_texts(paths: list[str | Path], text_column: str | None, encoding: str,
                 limit: int = 20_000_000) -> Iterator[str]:
    """Documents (table rows, or lines of text files) of the corpus, up to ``limit`` characters (what
    ``lmforge pretrain --from`` scans for words its tokenizer lacks: every frequent one, in seconds)."""
    seen = 0
    for path in corpus_files(paths):
        for chunk in iter_documents(path, text_column, encoding):
            for text in chunk:
                yield text
                seen += len(text)
                if seen >= limit:
                    return
