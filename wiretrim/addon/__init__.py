"""wiretrim's mitmproxy addon: everything that touches mitmproxy lives in this package.

``script.py`` is the file to load with ``mitmdump -s``; importing this package has no side
effects.
"""
