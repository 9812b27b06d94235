#!/usr/bin/env bash
# Development helper while the first release is unreleased: rebuild revision 0001 from the models.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f migrations/versions/*_0001_*.py /tmp/detour-gen.db
DETOUR_DATABASE_URL=sqlite+aiosqlite:////tmp/detour-gen.db .venv/bin/alembic revision --autogenerate --rev-id 0001 -m "foundation" >/dev/null
sed -i '/### commands auto generated\|### end Alembic commands/d' migrations/versions/*_0001_*.py
ls migrations/versions
