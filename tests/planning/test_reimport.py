"""Re-imports: a stop moved to another route bumps both routes; a parcel-only change is applied and pushed."""
from sqlmodel import select

from app.realtime.models import RouteEvent
from app.routes.models import Parcel, ParcelStatus, Route
from tests.conftest import client_for
from tests.factories import Factory
from tests.planning.helpers import NOW, depot_day, frozen, import_unassigned, stop, stops_by_ref


def routes(stops_by_route: dict[str, list[dict]]) -> list[dict]:
    return [{"externalRef": ref, "stops": stops} for ref, stops in stops_by_route.items()]


async def state(runtime) -> tuple[dict[str, Route], list[tuple[str, int, list[int]]], dict[str, Parcel]]:  # noqa: ANN001
    async with runtime.sessionmaker() as session:
        by_ref = {r.external_ref: r for r in (await session.exec(select(Route))).all() if r.external_ref}
        names = {r.id: ref for ref, r in by_ref.items()}
        events = [(names[e.route_id], e.route_version, e.stop_ids) for e in (await session.exec(select(RouteEvent).order_by(RouteEvent.id))).all()]
        parcels = {p.barcode: p for p in (await session.exec(select(Parcel))).all()}
    return by_ref, events, parcels


async def test_a_stop_moved_to_another_route_by_a_re_import_bumps_the_route_it_left(runtime):
    # given two imported routes of two stops each
    clocked = frozen(runtime)
    factory = Factory(clocked)
    day = await depot_day(factory)
    token = factory.token(day.fleet.integrator)
    a = [stop("A0", 0), stop("A1", 1)]
    b = [stop("B0", 2), stop("B1", 3)]
    async with client_for(clocked) as client:
        await import_unassigned(client, token, [], routes=routes({"RA": a, "RB": b}))

        # when the plan is sent again with A1 on route RB
        summary = await import_unassigned(client, token, [], routes=routes({"RA": a[:1], "RB": [*b, a[1]]}))

    # then A1 is on RB (not skipped), and both routes got a new version with a route change naming it
    moved = (await stops_by_ref(clocked))["A1"]
    by_ref, events, _ = await state(clocked)
    assert moved.route_id == by_ref["RB"].id and moved.status.value == "PENDING" and moved.sequence == 2
    assert (by_ref["RA"].version, by_ref["RB"].version) == (2, 2)
    assert sorted(events) == [("RA", 2, [moved.id]), ("RB", 2, [moved.id])]
    assert (summary["routesUpdated"], summary["stopsUpdated"], summary["stopsRemoved"]) == (2, 1, 0)


async def test_a_moved_stop_bumps_its_old_route_even_when_that_route_is_not_in_the_new_plan(runtime):
    # given route RA imported with stop A0
    clocked = frozen(runtime)
    factory = Factory(clocked)
    day = await depot_day(factory)
    token = factory.token(day.fleet.integrator)
    async with client_for(clocked) as client:
        await import_unassigned(client, token, [], routes=routes({"RA": [stop("A0", 0), stop("A1", 1)]}))

        # when a later plan names only route RC, with A1 on it
        await import_unassigned(client, token, [], routes=routes({"RC": [stop("A1", 1)]}))

    # then RA (not in the plan) still got a new version telling its driver A1 left; the new route RC is version 1
    by_ref, events, _ = await state(clocked)
    moved = (await stops_by_ref(clocked))["A1"]
    assert moved.route_id == by_ref["RC"].id
    assert (by_ref["RA"].version, by_ref["RC"].version) == (2, 1)
    assert events == [("RA", 2, [moved.id])]


async def test_a_parcel_only_change_in_a_re_import_is_applied_and_pushed(runtime):
    # given a route whose stop has one parcel
    clocked = frozen(runtime)
    factory = Factory(clocked)
    day = await depot_day(factory)
    token = factory.token(day.fleet.integrator)
    first = stop("A0", 0, parcels=2)
    async with client_for(clocked) as client:
        await import_unassigned(client, token, [], routes=routes({"RA": [first]}))

        # when the same plan comes again with only its parcels changed: one dropped, one revalued, one added
        changed = {**first, "parcels": [{"barcode": "P-A0-0", "declaredValueCents": 9900, "signatureRequired": True}, {"barcode": "P-A0-NEW"}]}
        summary = await import_unassigned(client, token, [], routes=routes({"RA": [changed]}))
        again = await import_unassigned(client, token, [], routes=routes({"RA": [changed]}))

    # then the parcels follow the plan, the dropped one is held at the depot, and the driver hears of it once
    by_ref, events, parcels = await state(clocked)
    assert (parcels["P-A0-0"].declared_value_cents, parcels["P-A0-0"].signature_required) == (9900, True)
    assert parcels["P-A0-NEW"].status is ParcelStatus.ON_ROUTE and parcels["P-A0-1"].status is ParcelStatus.HELD
    assert (summary["parcelsCreated"], summary["parcelsUpdated"], summary["parcelsRemoved"], summary["stopsUpdated"]) == (1, 1, 1, 1)
    assert by_ref["RA"].version == 2 and [(ref, version) for ref, version, _ in events] == [("RA", 2)]
    assert (again["routesUnchanged"], again["stopsUnchanged"], again["parcelsUpdated"]) == (1, 1, 0)
    assert by_ref["RA"].updated_at == NOW  # stamped by the frozen clock, not the wall
