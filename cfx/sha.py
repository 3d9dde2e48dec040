"""SHA-256 by CPython's own implementation where it has one.

`hashlib` loads its OpenSSL binding on import, which maps libcrypto: 3.4 MB
resident, a sixth of what the compiled replay needs in all. The digests are
the same; CPython's is slower (~270 MB/s against ~1.6 GB/s here), which only
the compiled replay's fills hash sees, outside its timer. Code that imports
`hashlib` anyway has no reason to use this.
"""

from __future__ import annotations

from typing import Any


def sha256(data: bytes = b"") -> Any:
    """A new SHA-256 hash object (``update``, ``hexdigest``), fed ``data``."""
    try:
        from _sha2 import sha256 as new  # CPython 3.12 and later
    except ImportError:
        try:
            from _sha256 import sha256 as new  # CPython 3.11
        except ImportError:  # a Python without them
            from hashlib import sha256 as new
    return new(data)
