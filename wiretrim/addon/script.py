"""The file for ``mitmdump -s`` / ``mitmweb -s``: loads the wiretrim addon.

mitmproxy runs this file as a script (and reloads it when it changes); the addon itself is
imported from the installed package, so its worker processes can import it too.
"""

from wiretrim.addon.hooks import Wiretrim

addons = [Wiretrim()]
