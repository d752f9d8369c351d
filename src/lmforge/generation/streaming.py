"""Token ids → text, piece by piece, with stop strings.

A token can end in the middle of a UTF-8 character, and a stop string can span several tokens, so text
is released only when it is final: the whole generation is decoded each step (cheap at these lengths, and
exact for every tokenizer: byte-level BPE, SentencePiece spaces, merges across token boundaries), and the
new tail is held back while it ends in a partial character or could still grow into a stop string.

    >>> stream = TextStream(tokenizer, stop=["\\nUser:"])
    >>> for token in tokens:
    ...     piece = stream.push(token)       # text that is now final ("" while held back)
    ...     if stream.stopped: break          # a stop string appeared; it is not part of the text
    >>> rest = stream.flush()                 # at the end: whatever was held back (a stop prefix that never completed)
"""

from __future__ import annotations


class TextStream:
    def __init__(self, tokenizer, stop: list[str] | tuple[str, ...] = ()):
        self.tokenizer, self.stop = tokenizer, [s for s in stop if s]
        self.ids: list[int] = []
        self.emitted = 0  # characters of the text already released
        self.text = ""
        self.stopped = False

    def push(self, token: int) -> str:
        """Add one generated token; the text that became final."""
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        for s in self.stop:
            at = text.find(s, max(0, self.emitted - len(s)))
            if at != -1:
                self.stopped = True
                text = text[:at]
        self.text = text
        if self.stopped:
            return self._release(len(text))
        safe = len(text)
        if text.endswith("\ufffd"):  # a character cut between tokens: wait for the rest of its bytes
            safe = len(text.rstrip("\ufffd"))
        for s in self.stop:  # hold back a tail that could be the start of a stop string
            for k in range(min(len(s) - 1, safe), 0, -1):
                if text[safe - k:safe] == s[:k]:
                    safe = min(safe, len(text) - k) if safe == len(text) else safe - k
                    break
        return self._release(max(safe, self.emitted))

    def flush(self) -> str:
        """The rest of the text (call once at the end)."""
        return self._release(len(self.text))

    def _release(self, upto: int) -> str:
        piece = self.text[self.emitted:upto]
        self.emitted = max(self.emitted, upto)
        return piece
