"""What work costs: the meter every stage runs inside, the hardware it ran on, and prices."""

from lmforge.costs.hardware import hardware_info
from lmforge.costs.meter import Meter

__all__ = ["Meter", "hardware_info"]
