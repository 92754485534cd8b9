"""Documents the bench serves, scaled from recorded ones (nothing generated is committed).

The WMS document is the recorded MapServer 8 capabilities of 1,011 layers, its
layer tree copied `copies` times under new names: the same layer shapes a real
server sends, at any size.
"""

from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
WMS_1000 = DATA / "wms/captured-mapserver-8.0.0/mapserver8_1000layers_GetCapabilities_130.xml"

_NAME = re.compile(rb"<Name>((?:group|layer)_\d+)</Name>")


def wms_capabilities(copies: int) -> bytes:
    """About 1,010 named layers per copy (group layers included)."""
    text = WMS_1000.read_bytes()
    start = text.index(b'    <Layer queryable="1">\n      <Name>group_0</Name>')
    end = text.rindex(b"  </Layer>\n</Capability>")
    head, tree, tail = text[:start], text[start:end], text[end:]
    if copies == 1:
        return text
    parts = [head]
    for copy in range(copies):
        prefix = b"<Name>c%d_" % copy
        parts.append(_NAME.sub(lambda m: prefix + m.group(1) + b"</Name>", tree))
    parts.append(tail)
    return b"".join(parts)
