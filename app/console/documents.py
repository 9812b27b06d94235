"""The console's operations are the trusted documents of graphql/dispatcher/, copied into the package as one JSON file.

Run `python -m app.console.documents` after changing a document; tests/console fails while the copy differs.
"""
import json
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "graphql" / "dispatcher"
TARGET = Path(__file__).parent / "static" / "documents.json"


def bundle(source: Path = SOURCE) -> str:
    """Every dispatcher document by operation file name, as the JSON the console loads."""
    documents = {path.stem: path.read_text() for path in sorted(source.glob("*.graphql"))}
    return json.dumps(documents, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    TARGET.write_text(bundle())
    print(f"{TARGET} written", file=sys.stderr)
