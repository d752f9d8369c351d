"""Models: where base models come from (bundled MiniLM or a local directory) and fast task forwards."""
