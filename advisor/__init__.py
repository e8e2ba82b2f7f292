"""lossadvisor: which loss to train your network with on tabular data, why, and the evidence."""

__version__ = "0.1.0"
