"""The economics of a model, the top of cost accounting: ``lmforge cost`` (report, ROI, throughput per
backend), ``lmforge usage`` (per-key shares) and the classical baseline priced beside every fine-tune.
The measuring underneath (meter, hardware, prices, energy) is :mod:`lmforge.metering`."""
