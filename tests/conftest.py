"""Shared fixtures: tiny models built from config (fast), and paths to the real data in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LMFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))
EXAMPLES = REPO / "examples" / "data"

WORDS = ("good great fine lovely superb bad awful poor dull boring film movie plot actor scene story the a is "
         "was not very quite really and but it this that").split()


def shared_data(*parts: str) -> Path:
    """A file under ../shared/data; the test is skipped where the shared data is not checked out."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path


def build_tiny_model(directory: Path, layers: int = 2, hidden: int = 32, dropout: float = 0.1) -> Path:
    """A 2-layer, width-32 BERT with a WordPiece tokenizer trained on the fly: a stand-in for MiniLM."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    import torch

    # An explicit vocabulary, not a trained one: tokenizer training breaks frequency ties differently from
    # one process to the next, which made the tiny model (and tests that train it) differ between runs.
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    # dict.fromkeys: one id per token (a one-letter word is also a letter; a repeat would leave an id past
    # vocab_size, which the fuzz test found)
    vocab = list(dict.fromkeys(specials + sorted(set(WORDS)) + letters + ["##" + c for c in letters]))
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=64,
                        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    directory.mkdir(parents=True, exist_ok=True)
    BertModel(config).save_pretrained(directory)
    fast.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_model_no_dropout(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert-nodrop"), dropout=0.0)


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory, tiny_model) -> Path:
    """The tiny BERT after a short full fine-tune on the toy task, saved as a bare encoder.

    A random encoder gives every text nearly the same first-token state, so a frozen-backbone head or a
    LoRA run has nothing to learn from; this one plays the part of a pretrained encoder.
    """
    import lmforge
    from transformers import AutoModel

    root = tmp_path_factory.mktemp("tiny-encoder")
    data = write_sentiment_csv(root / "train.csv", n=200, seed=1)
    lmforge.finetune(data, root / "run", model=str(tiny_model), epochs=8, batch_size=16, lr=5e-3,
                     max_length=32, freeze_embeddings=False, patience=0, quiet=True)
    encoder = AutoModel.from_pretrained(root / "run")
    encoder.save_pretrained(root / "encoder")
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(root / "run").save_pretrained(root / "encoder")
    return root / "encoder"


def write_sentiment_csv(path: Path, n: int = 120, seed: int = 0) -> Path:
    """A learnable toy sentiment set: positive words → 'pos', negative words → 'neg'."""
    import csv
    import random

    rng = random.Random(seed)
    pos, neg = ["good", "great", "lovely", "superb", "fine"], ["bad", "awful", "poor", "dull", "boring"]
    fillers = ["the", "film", "movie", "plot", "actor", "was", "really", "quite", "story", "scene"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(n):
            label = "pos" if i % 2 == 0 else "neg"
            words = rng.sample(fillers, rng.randint(2, 6)) + [rng.choice(pos if label == "pos" else neg)]
            rng.shuffle(words)
            w.writerow([" ".join(words), label])
    return path


@pytest.fixture
def sentiment_csv(tmp_path) -> Path:
    return write_sentiment_csv(tmp_path / "train.csv")


@pytest.fixture(scope="session", autouse=True)
def tracking_store(tmp_path_factory) -> str:
    """Every run the tests make is tracked into one SQLite store in a temporary directory, never the repo's
    working directory; the machine-profile cache goes there too. Returns the tracking URI."""
    root = tmp_path_factory.mktemp("tracking")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ["LMFORGE_TRACKING_URI"] = uri
    os.environ["LMFORGE_CACHE_DIR"] = str(root / "cache")
    return uri
