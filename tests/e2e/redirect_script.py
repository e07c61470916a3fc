"""Test-only mitmproxy script: send port-443 requests to a local fake upstream (Host kept).

Loaded after wiretrim's own script (``-s``), so it acts on the request wiretrim already
rewrote; ``--set redirect_port=N`` turns it on. The subprocess twin of conftest's `Redirect`.
"""

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader


class RedirectToUpstream:
    def load(self, loader: Loader) -> None:
        loader.add_option("redirect_port", int, 0, "Send port-443 requests to 127.0.0.1:PORT (0: off).")

    def request(self, flow: http.HTTPFlow) -> None:
        port = ctx.options.redirect_port
        if port and flow.request.port == 443:
            host_header = flow.request.host_header
            flow.request.host = "127.0.0.1"
            flow.request.port = port
            flow.request.host_header = host_header


addons = [RedirectToUpstream()]
