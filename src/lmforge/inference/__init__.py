"""Inference: the Predictor and its backends (torch, torch int8, ONNX Runtime); used by evaluate, compress and serve."""
