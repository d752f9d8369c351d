"""Instruction data for supervised fine-tuning: files → conversations → token ids with response-only labels.

Accepted, detected per row:

    Alpaca JSON / JSONL      {"instruction", "input", "output"}            (input may be empty)
    chat JSONL / JSON        {"messages": [{"role", "content"}, ...]}
    CSV / TSV / JSONL        instruction → response columns (also prompt/completion, question/answer)

    >>> conversations = load_conversations("bitext.csv")
    >>> ids, labels = tokenize_conversation(tokenizer, conversations[0], max_length=512)

Labels are -100 (ignored by the loss) everywhere but the assistant's replies, and each reply's label span
ends *with* its end-of-turn token, so the model learns to stop. That token is never dropped as padding:
batches pad with ``pad_token_id`` but mask by length, not by id — the pad and EOS ids are often the same
(SmolLM2: both ``<|im_end|>``), and masking by id is the classic cause of models that never stop.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from lmforge.errors import DataError
from lmforge.generation.chat_template import check_messages, ensure_chat_template

IGNORE = -100
PAIRS = (("instruction", "response"), ("instruction", "output"), ("prompt", "completion"), ("prompt", "response"),
         ("question", "answer"), ("input", "output"))


def row_to_messages(row: dict, path: Path, number: int, columns: tuple[str, str] | None = None) -> list[dict]:
    if "messages" in row:
        messages = row["messages"]
        if not isinstance(messages, list) or not any(m.get("role") == "assistant" for m in messages
                                                      if isinstance(m, dict)):
            raise DataError("'messages' must be a list of {role, content} with at least one assistant reply",
                            path=path, row=number)
        return check_messages(messages)
    if columns is None and {"instruction", "output"} <= row.keys() and "input" in row:  # Alpaca
        prompt = str(row["instruction"]) + (f"\n\n{row['input']}" if row.get("input") else "")
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": str(row["output"])}]
    for prompt_key, answer_key in [columns] if columns else PAIRS:
        if prompt_key in row and answer_key in row:
            return [{"role": "user", "content": str(row[prompt_key])},
                    {"role": "assistant", "content": str(row[answer_key])}]
    raise DataError(f"no instruction/response fields (has: {', '.join(list(row)[:12])})", path=path, row=number,
                    hint="use Alpaca fields (instruction, input, output), 'messages', or pass --text-column "
                         "and --label-column for the prompt and the response")


def load_conversations(path: str | Path, prompt_column: str | None = None, response_column: str | None = None,
                       encoding: str = "utf-8") -> list[list[dict]]:
    path = Path(path)
    if not path.exists():
        raise DataError("does not exist", path=path)
    columns = (prompt_column, response_column) if prompt_column and response_column else None
    suffix = path.suffix.lower()
    if suffix == ".json":
        rows = json.loads(path.read_text(encoding=encoding))
        if not isinstance(rows, list):
            raise DataError("a JSON file must hold an array of objects", path=path)
    elif suffix == ".jsonl":
        rows = []
        for line_number, line in enumerate(path.read_text(encoding=encoding).splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise DataError(f"not valid JSON ({e.msg})", path=path, line=line_number) from None
    elif suffix in (".csv", ".tsv"):
        with open(path, newline="", encoding=encoding) as f:
            rows = list(csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ","))
    else:
        raise DataError(f"unsupported file type '{suffix}'", path=path, hint="use .json, .jsonl, .csv or .tsv")
    conversations = [row_to_messages(row, path, i, columns) for i, row in enumerate(rows, 1)]
    if not conversations:
        raise DataError("holds no examples", path=path)
    return conversations


def tokenize_conversation(tokenizer, messages: list[dict], max_length: int) -> tuple[list[int], list[int]]:
    """Token ids and labels of one conversation, rendered with the tokenizer's chat template; only assistant
    replies (through their end-of-turn token) are labelled. Cut to ``max_length``."""
    ensure_chat_template(tokenizer)
    ids: list[int] = []
    labels: list[int] = []

    def add(text: str, learn: bool) -> None:
        if text:
            piece = tokenizer(text, add_special_tokens=False)["input_ids"]
            ids.extend(piece)
            labels.extend(piece if learn else [IGNORE] * len(piece))

    def render(upto: int, prompt: bool) -> str:
        return tokenizer.apply_chat_template(messages[:upto], tokenize=False, add_generation_prompt=prompt)

    done = ""
    eos = tokenizer.eos_token or ""
    for k, message in enumerate(messages):
        if message["role"] != "assistant" or k == 0:
            continue
        prompt = render(k, True)
        full = render(k + 1, False)
        if not (prompt.startswith(done) and full.startswith(prompt)):
            raise DataError("the chat template does not render conversations incrementally; lmforge cannot "
                            "tell the replies apart from the prompts with it")
        add(prompt[len(done):], False)
        reply = full[len(prompt):]
        cut = reply.find(eos) + len(eos) if eos and eos in reply else len(reply)
        add(reply[:cut], True)
        add(reply[cut:], False)
        done = full
    return ids[:max_length], labels[:max_length]


def prompt_and_reference(messages: list[dict]) -> tuple[list[dict], str]:
    """The conversation up to its last reply, and that reply (for generation metrics)."""
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[:last], messages[last]["content"]
