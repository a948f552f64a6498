"""Print the gateway's OpenAPI document, built without servers (``make ui-client`` feeds it to the
web UI's typed-client generator).

Nothing connects while the document is built: placeholder URLs satisfy the settings, and routes
only touch PostgreSQL or Redis when a request is served.
"""

from __future__ import annotations

import json
import os
import sys


def document() -> dict[str, object]:
    os.environ.setdefault("MAMC_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    os.environ.setdefault("MAMC_REDIS_URL", "redis://127.0.0.1:1/0")
    from api.app import create_app

    return create_app().openapi()


def main() -> None:
    json.dump(document(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
