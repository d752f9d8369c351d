"""Training: THE loop (one copy), checkpoints, and the fine-tuning recipe."""
