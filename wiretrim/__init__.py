"""wiretrim: cut the input tokens of LLM API calls at the proxy, without breaking a request."""

__version__ = "0.1.0"
