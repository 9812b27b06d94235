"""Trusted documents: the first-party apps' operations in graphql/, by `sha256:<hex>` id (persisted-documents shape).

A request may send `documentId` instead of `query`; with `trusted_documents_only`, tokens of drivers, dispatchers and
supervisors may run only these documents (integrators' API keys and tokens send any document under their budget).
"""
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from cross_web import HTTPException

from app.config import Settings

REPOSITORY_DOCUMENTS = Path(__file__).resolve().parents[2] / "graphql"


def document_id(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@cache
def _manifest(directory: str) -> dict[str, str]:
    root = Path(directory)
    return {document_id(p.read_text()): p.read_text() for p in sorted(root.rglob("*.graphql"))} if root.is_dir() else {}


def manifest(settings: Settings) -> dict[str, str]:
    """id -> document text, for every .graphql file under the documents directory."""
    return _manifest(settings.trusted_documents_dir or str(REPOSITORY_DOCUMENTS))


def is_trusted(settings: Settings, query: str | None) -> bool:
    return query is not None and document_id(query) in manifest(settings)


async def resolve_document_id(settings: Settings, request: Any, data: Any) -> Any:
    """Fill `query` from `documentId` (body or query string); an unknown id is a 400."""
    if isinstance(data, list) or data.query is not None:
        return data
    wanted = request.query_params.get("documentId")
    if wanted is None and request.method == "POST":
        try:
            body = json.loads(await request.get_body())
        except ValueError:
            body = {}
        wanted = body.get("documentId") if isinstance(body, dict) else None
    if wanted is None:
        return data
    text = manifest(settings).get(str(wanted))
    if text is None:
        raise HTTPException(400, "unknown documentId: send a sha256:<hex> id of a trusted document")
    data.query = text
    return data
