"""The Python SDK: clients, the live-experiment handle, the metric buffer."""
