"""The route-plan file: a row with an empty route_ref, or a JSON `unassignedStops` entry, is a stop for planRoutes."""
from datetime import date

from app.planning.files import plan_from_csv, plan_from_json

HEADER = "route_ref,stop_ref,address,lat,lon,window_start,window_end,customer_ref,customer_name,parcel_barcodes\n"


def test_a_csv_row_without_a_route_ref_is_an_unassigned_stop():
    # given a file with one routed row and two rows without a route
    text = HEADER + "R1,S1,A 1,52.1,4.1,09:00,11:00,C1,One,P1\n,S2,A 2,52.2,4.2,10:00,12:00,C2,Two,P2;P3\n,S3,A 3,52.3,4.3,10:00,12:00,C3,Three,\n"

    # when it is read
    plan = plan_from_csv(text, service_date=date(2026, 12, 3), depot_ref="dep-1", timezone="Europe/Amsterdam")

    # then the routed row forms a route and the others wait for planRoutes, in file order, with their parcels
    assert [(r.external_ref, [s.external_ref for s in r.stops]) for r in plan.routes] == [("R1", ["S1"])]
    assert [(s.external_ref, s.path, [p.barcode for p in s.parcels]) for s in plan.unassigned] == [
        ("S2", "row 3", ["P2", "P3"]), ("S3", "row 4", []),
    ]
    assert plan.errors == [] and [s.external_ref for s in plan.all_stops()] == ["S1", "S2", "S3"]


def test_a_json_plan_takes_unassigned_stops_with_their_own_paths():
    # given a JSON plan with one unassigned stop whose window is unreadable
    data = {"routes": [], "unassignedStops": [{"externalRef": "S9", "address": "A 9", "lat": 52.0, "lon": 4.0,
                                                 "timeWindow": {"start": "10:00", "end": "soon"},
                                                 "customer": {"externalRef": "C9", "name": "Nine"}, "parcels": [{"barcode": "P9"}]}]}

    # when it is read
    plan = plan_from_json(data, service_date=date(2026, 12, 3), depot_ref="dep-1", timezone="UTC")

    # then the stop is unassigned and its bad value is named by its path
    assert [s.external_ref for s in plan.unassigned] == ["S9"]
    assert [(e.path, e.field) for e in plan.errors] == [("unassignedStops[0]", "window_end")]
