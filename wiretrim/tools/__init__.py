"""Commands that read mitmproxy's files (flow dumps) outside a running proxy."""
