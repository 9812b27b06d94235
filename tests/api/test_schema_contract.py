"""schema.graphql is the contract: it matches the code, and every client document validates against it."""
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from app.api.schema import schema

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted((ROOT / "graphql").rglob("*.graphql"))


def test_committed_schema_matches_the_code():
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema.as_str() + "\n", "schema.graphql is stale: run `detour export-schema` and commit it"


def test_there_are_driver_and_dispatcher_documents():
    folders = {path.parent.name for path in DOCUMENTS}
    assert {"driver", "dispatcher"} <= folders


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_document_validates_against_schema_graphql(path):
    sdl = build_schema((ROOT / "schema.graphql").read_text())
    errors = validate(sdl, parse(path.read_text()))
    assert errors == []
