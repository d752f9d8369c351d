"""Federated fine-tuning with Flower: partitions (IID, label skew), FedAvg over the trained weights, the
global model as an ordinary artifact. See :mod:`lmforge.federated.simulation`."""
