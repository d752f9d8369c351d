"""Chat messages → the prompt the model was trained on, with its own chat template.

A model without a template (a base model pretrained by lmforge, say) gets ChatML, the format SmolLM2 and
many others use; SFT writes that template into the artifact, so training and serving always agree.

    >>> render_chat(tokenizer, [{"role": "user", "content": "Hi"}])
    '<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n'
"""

from __future__ import annotations

from lmforge.errors import ConfigError

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
          "{% endif %}")
ROLES = ("system", "user", "assistant", "tool", "developer")


def ensure_chat_template(tokenizer) -> bool:
    """Give ``tokenizer`` ChatML when it has no template; True when it did so."""
    if getattr(tokenizer, "chat_template", None):
        return False
    tokenizer.chat_template = CHATML
    return True


def check_messages(messages: list[dict]) -> list[dict]:
    """Messages as ``{"role", "content": str}``; OpenAI's content parts (``[{"type": "text", "text": …}]``)
    are joined. ConfigError for anything else."""
    problems, clean = [], []
    if not messages:
        problems.append("messages is empty; send at least one {'role': 'user', 'content': ...}")
    for i, m in enumerate(messages):
        role, content = m.get("role"), m.get("content")
        if role not in ROLES:
            problems.append(f"messages[{i}].role is {role!r}; expected one of {', '.join(ROLES)}")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict)
                              and part.get("type") == "text")
        if content is None:
            content = ""
        if not isinstance(content, str):
            problems.append(f"messages[{i}].content must be a string or a list of text parts")
        clean.append({"role": "system" if role == "developer" else role, "content": content})
    if problems:
        raise ConfigError(problems)
    return clean


def render_chat(tokenizer, messages: list[dict], add_generation_prompt: bool = True) -> str:
    ensure_chat_template(tokenizer)
    return tokenizer.apply_chat_template(check_messages(messages), tokenize=False,
                                         add_generation_prompt=add_generation_prompt)
