"""`wiretrim bench`: what the engine, the addon and the proxy cost, printed as one report.

Five measurements in one run, so that every ratio compares figures taken side by side on the
same machine under the same load: the engine on a corpus (and Headroom through its bench
adapter when its venv exists), recorded sessions replayed request by request, per-request
latency through mitmdump with and without the addon, time to the first SSE event, and the
proxy's memory while large bodies pass. It prints figures and asserts nothing.
"""
