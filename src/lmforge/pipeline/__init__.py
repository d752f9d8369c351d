"""Pipelines and tuning: `lmforge run pipeline.yaml` (stages from one validated file, fingerprint-skipping,
resume) and `lmforge tune` (Optuna over fine-tuning settings, cost-aware)."""
