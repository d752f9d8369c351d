"""Federation settings, importable without torch (the CLI builds `lmforge federated --help` from them)."""

from __future__ import annotations

from dataclasses import dataclass

from lmforge.config import setting
from lmforge.errors import ConfigError

PARTITIONS = ("iid", "label-skew")


@dataclass
class FederatedConfig:
    """The federation: how many clients, how the rows are split, how many rounds."""

    clients: int = setting(5, "number of simulated clients (data holders)")
    rounds: int = setting(5, "FedAvg rounds (the round budget)")
    local_epochs: int = setting(1, "passes over its own rows each client makes per round")
    partition: str = setting("iid", "how rows are split: iid, or label-skew (Dirichlet over each label)",
                             choices=PARTITIONS)
    alpha: float = setting(0.5, "Dirichlet concentration of the label-skew split (small: few labels per client)")
    fraction_train: float = setting(1.0, "share of the clients sampled each round")

    def validate(self) -> FederatedConfig:
        problems = []
        for name in ("clients", "rounds", "local_epochs"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.clients < 2:
            problems.append(f"clients must be at least 2, got {self.clients}")
        if self.partition not in PARTITIONS:
            problems.append(f"partition '{self.partition}' is not one of {', '.join(PARTITIONS)}")
        if not 0 < self.fraction_train <= 1:
            problems.append(f"fraction_train must be in (0, 1], got {self.fraction_train}")
        if problems:
            raise ConfigError(problems)
        return self
