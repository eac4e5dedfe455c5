"""The container's HEALTHCHECK: the slim image has no curl, so Python asks /health itself."""

import os
import sys
import urllib.request

try:
    port = os.environ.get("PORT", "8080")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception:
    sys.exit(1)
