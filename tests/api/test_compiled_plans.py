"""Plans complete objects exactly as graphql-core does: the same data and the same errors, on the same schema.

Each document runs twice on one small schema, once with Detour's execution context (plain fields read directly,
objects completed by plans) and once with Strawberry's own, and the results must be equal — including the
errors a plan cannot produce itself (a resolver raising, a null on a non-null field, a value a scalar refuses),
for which the object is completed by graphql-core again.
"""
import asyncio
import enum
from functools import partial
from dataclasses import dataclass, field

import pytest
import strawberry
from strawberry.extensions import ParserCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.api import compiled
from app.api.compiled import mark_compiled_resolvers
from app.api.execution import FastExecutionContext, mark_plain_fields

CALLS: list[str] = []


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class ParcelRow:
    id: int
    label: str | None
    colour: Colour | str = Colour.RED


@dataclass
class StopRow:
    id: int
    parcels: list[ParcelRow] = field(default_factory=list)
    note: str | None = None


@strawberry.type
class Parcel:
    id: strawberry.ID
    label: str | None
    colour: Colour
    row: strawberry.Private[ParcelRow]

    @strawberry.field
    def checked_label(self) -> str:  # non-null: a parcel without a label is an error at this field
        CALLS.append("checked_label")
        return self.row.label  # type: ignore[return-value]

    @strawberry.field
    async def later(self, info: strawberry.Info) -> str:
        await asyncio.sleep(0)
        return f"{info.field_name}:{self.id}"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Depot(Named):
    code: str


@strawberry.type
class Stop:
    id: strawberry.ID
    note: str | None
    row: strawberry.Private[StopRow]

    @strawberry.field
    def parcels(self) -> list[Parcel] | None:  # nullable: an error below stops here
        CALLS.append("parcels")
        return [Parcel(id=strawberry.ID(str(p.id)), label=p.label, colour=p.colour, row=p) for p in self.row.parcels]

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError("broken resolver")

    @strawberry.field
    def depot(self) -> Named:
        return Depot(name="North", code="N1")

    @strawberry.field
    def counted(self, times: int = 1) -> int:  # an argument: graphql-core resolves it
        return times


def _stops() -> list[Stop]:
    rows = [
        StopRow(1, [ParcelRow(10, "a"), ParcelRow(11, "b", Colour.GREEN)], note="ring"),
        StopRow(2, []),
        StopRow(3, [ParcelRow(30, None)]),  # no label: checkedLabel is null on a non-null field
        StopRow(4, [ParcelRow(40, "x", "purple")]),  # a value the enum refuses
    ]
    return [Stop(id=strawberry.ID(str(r.id)), note=r.note, row=r) for r in rows]


@strawberry.type
class Query:
    @strawberry.field
    def stops(self) -> list[Stop]:
        return _stops()

    @strawberry.field
    async def first_stop(self) -> Stop:
        return _stops()[0]


def _schema(execution_context_class: type) -> strawberry.Schema:
    schema = strawberry.Schema(query=Query, execution_context_class=execution_context_class, extensions=[partial(ParserCache, maxsize=16)])
    mark_plain_fields(schema._schema)
    mark_compiled_resolvers(schema._schema)
    return schema


FAST, REGULAR = _schema(FastExecutionContext), _schema(StrawberryGraphQLCoreExecutionContext)

DOCUMENTS = {
    "scalars, lists, aliases, typename": "{ stops { __typename id note parcels { id label colour ref: id } } }",
    "async field in a list": "{ stops { parcels { id later } } }",
    "async root": "{ firstStop { id parcels { id label } } }",
    "fragments": "fragment P on Parcel { id label } query { stops { id parcels { ...P colour } } }",
    "null on a non-null field": "{ stops { id parcels { id checkedLabel } } }",
    "a resolver raising": "{ stops { id broken } }",
    "an enum value refused": "{ stops { id parcels { colour } } }",
    "an interface": "{ stops { depot { name ... on Depot { code } } } }",
    "an argument": "{ stops { counted(times: 3) } }",
}


def _plain(result: object) -> dict:
    errors = [{"message": e.message, "path": e.path, "locations": [(loc.line, loc.column) for loc in e.locations or []]}
              for e in result.errors or []]
    return {"data": result.data, "errors": sorted(errors, key=lambda e: [str(p) for p in e["path"] or []])}


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_a_plan_gives_what_graphql_core_gives(name):
    document = DOCUMENTS[name]
    fast = _plain(await FAST.execute(document))
    regular = _plain(await REGULAR.execute(document))
    assert fast == regular
    assert regular["data"] is not None or regular["errors"]  # a document that tests nothing would pass both ways


async def test_the_errors_are_those_of_graphql_core_with_their_paths():
    result = _plain(await FAST.execute(DOCUMENTS["null on a non-null field"]))
    assert [e["path"] for e in result["errors"]] == [["stops", 2, "parcels", 0, "checkedLabel"]]
    assert result["data"]["stops"][2]["parcels"] is None  # the null went up to the nullable list, as the spec says
    assert result["data"]["stops"][0]["parcels"] == [{"id": "10", "checkedLabel": "a"}, {"id": "11", "checkedLabel": "b"}]


async def test_plans_are_kept_for_a_document_and_made_per_execution_when_variables_steer_it(monkeypatch):
    made: list[str] = []
    original = compiled.Planner._object

    def counting(self, object_type, details):  # noqa: ANN001, ANN202
        made.append(object_type.name)
        return original(self, object_type, details)

    monkeypatch.setattr(compiled.Planner, "_object", counting)

    # the parser cache hands the same document to every request with the same text: planned once, used three times
    for _ in range(3):
        result = await FAST.execute("{ stops { id parcels { id } } }")
        assert result.errors is None and result.data["stops"][0]["parcels"] == [{"id": "10"}, {"id": "11"}]
    assert sorted(made) == ["Parcel", "Stop"]

    # a document whose shape a variable decides is planned for each execution, with that execution's variables
    made.clear()
    steered = "query($withParcels: Boolean!) { stops { id parcels @include(if: $withParcels) { id } } }"
    shown = await FAST.execute(steered, variable_values={"withParcels": True})
    hidden = await FAST.execute(steered, variable_values={"withParcels": False})
    assert shown.data["stops"][0] == {"id": "1", "parcels": [{"id": "10"}, {"id": "11"}]}
    assert hidden.data["stops"][0] == {"id": "1"}
    assert made.count("Stop") == 2
