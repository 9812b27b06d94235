"""Document limits: the fragment bomb of issue 15 and the validation cache, strawberry's limiters against ours.

    .venv/bin/python bench/document_limits.py [--repeat 50]

In process (no HTTP): the schema with strawberry's QueryDepthLimiter/MaxAliasesLimiter ("before") and with
app.api.limits.DocumentLimits ("after"); prints a table and writes bench/results/document_limits.json.
"""
import argparse
import logging
import asyncio
import sys
import time
from functools import partial
from pathlib import Path

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.extensions.validation_cache import _get_validate_cache

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.api import schema as assembled  # noqa: E402
from app.api.context import Context  # noqa: E402
from app.api.extensions import MaskUnexpectedErrors, RequestScope  # noqa: E402
from app.bootstrap import bootstrap  # noqa: E402
from app.config import Settings  # noqa: E402
from bench.common import write_result  # noqa: E402


def fragment_bomb(n: int) -> str:
    fragments = ["fragment F0 on Query { viewer { user { id } } }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, n + 1)]
    return f"query {{ ...F{n} }} " + " ".join(fragments)


def strawberry_limiters(settings: Settings) -> strawberry.Schema:
    extensions = [
        RequestScope, MaskUnexpectedErrors, partial(ParserCache, maxsize=256), partial(ValidationCache, maxsize=256),
        partial(QueryDepthLimiter, max_depth=settings.max_query_depth),
        partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
        partial(MaxAliasesLimiter, max_alias_count=settings.max_query_aliases),
    ]
    return strawberry.Schema(query=assembled.Query, mutation=assembled.Mutation, subscription=assembled.Subscription,
                             extensions=extensions, config=assembled.build_schema(settings).config)


async def run(schema: strawberry.Schema, runtime, query: str) -> tuple[float, list]:  # noqa: ANN001
    context = Context(runtime=runtime, request=None, response=None, request_id="bench")
    started = time.perf_counter()
    result = await schema.execute(query, context_value=context)
    return time.perf_counter() - started, [(e.extensions or {}).get("code") or e.message[:60] for e in result.errors or ()]


async def main(repeat: int) -> None:
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)  # the refusals, not their log lines
    settings = Settings(database_url="sqlite+aiosqlite://", broadcast_url="memory://")
    runtime = bootstrap(settings)
    schemas = {"before": strawberry_limiters(settings), "after": assembled.build_schema(settings)}
    rows = []
    for label, sizes in (("before", (10, 14, 16, 18)), ("after", (16, 18, 22, 190))):
        for n in sizes:
            seconds, errors = await run(schemas[label], runtime, fragment_bomb(n))
            rows.append({"limiter": label, "bomb": f"F{n}", "ms": round(seconds * 1000, 2), "errors": errors})
    cache = _get_validate_cache(256)
    for label, schema in schemas.items():
        query = f"query CacheProbe{label} {{ __typename }}"
        before = cache.cache_info()
        for _ in range(repeat):
            await run(schema, runtime, query)
        after = cache.cache_info()
        rows.append({"limiter": label, "bomb": f"{repeat}x same document", "ms": None,
                     "errors": [f"validation cache hits {after.hits - before.hits}, misses {after.misses - before.misses}"]})
    print(f"{'limiter':8} {'document':22} {'ms':>10}  outcome")
    for row in rows:
        print(f"{row['limiter']:8} {row['bomb']:22} {row['ms'] if row['ms'] is not None else '':>10}  {row['errors']}")
    print(write_result("document_limits", {"rows": rows}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    asyncio.run(main(parser.parse_args().repeat))
