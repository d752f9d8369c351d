"""What part of a model is trained: LoRA adapters (through peft), a head on a frozen backbone, or all."""
