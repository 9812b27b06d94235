"""The fallback replanner keeps the driver's order and puts a redirected stop where it adds the least distance."""
from types import SimpleNamespace

from app.alternatives.resequencing import best_relocation

DEPOT = (52.0, 4.0)


def stops(*positions: tuple[float, float]) -> list[SimpleNamespace]:
    return [SimpleNamespace(id=i, lat=lat, lon=lon) for i, (lat, lon) in enumerate(positions)]


def test_a_redirected_stop_moves_to_its_nearest_position_and_the_rest_keep_their_order():
    # given stops heading north in a line, and stop 1 redirected far beyond the last one
    route = stops((52.01, 4.0), (52.10, 4.0), (52.02, 4.0), (52.03, 4.0), (52.04, 4.0))
    # when re-sequenced, then only stop 1 moved, to the end
    assert [s.id for s in best_relocation(DEPOT, route)] == [0, 2, 3, 4, 1]


def test_a_redirected_stop_between_two_others_is_inserted_between_them():
    # given stop 3 redirected to a place between stops 0 and 1
    route = stops((52.01, 4.0), (52.03, 4.0), (52.04, 4.0), (52.02, 4.001))
    assert [s.id for s in best_relocation(DEPOT, route)] == [0, 3, 1, 2]


def test_an_order_that_already_fits_is_left_alone():
    route = stops((52.01, 4.0), (52.02, 4.0), (52.03, 4.0))
    assert [s.id for s in best_relocation(DEPOT, route)] == [0, 1, 2]
    assert best_relocation(DEPOT, []) == []
