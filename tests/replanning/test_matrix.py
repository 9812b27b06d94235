"""Behaviour of the travel-matrix providers: haversine maths, OSRM over real HTTP, caching."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from app.replanning.matrix import (
    UNREACHABLE,
    CachedMatrix,
    HaversineMatrix,
    MatrixError,
    OsrmMatrix,
    matrix_provider_from_settings,
)

PARIS = (48.8566, 2.3522)
LONDON = (51.5074, -0.1278)


async def test_haversine_matches_hand_computed_great_circle_distances():
    # given: Paris -> London is 343.5 km on the great circle; one degree of latitude is 111.195 km
    provider = HaversineMatrix(speed_kmh=30.0, detour_factor=1.3)
    straight = HaversineMatrix(speed_kmh=36.0, detour_factor=1.0)

    # when
    paris_london = await provider.matrix([PARIS, LONDON])
    one_degree = await straight.matrix([(10.0, 20.0), (11.0, 20.0)])

    # then
    assert paris_london.distances[0][1] == pytest.approx(343_500 * 1.3, rel=0.003)
    assert paris_london.durations[0][1] == pytest.approx(343_500 * 1.3 / (30 / 3.6), rel=0.003)
    assert paris_london.distances == [[0, paris_london.distances[0][1]], [paris_london.distances[0][1], 0]]
    assert one_degree.distances[0][1] == pytest.approx(111_195, abs=2)
    assert one_degree.durations[0][1] == pytest.approx(11_120, abs=1)  # 10 m/s
    assert all(isinstance(v, int) for row in one_degree.durations + one_degree.distances for v in row)


class FakeOsrm:
    """A tiny OSRM Table API over http.server: duration = 100 s per 0.01 deg (lat+lon), distance = 10x."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.error: tuple[int, dict] | None = None
        self.unreachable: set[tuple[int, int]] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                fake.requests.append((url.path, query))
                status, body = fake.error or (200, fake.table(url.path, query))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def table(self, path: str, query: dict[str, list[str]]) -> dict:
        """Answer like OSRM: coordinates are lon,lat pairs separated by ';'."""
        coordinates = [tuple(map(float, pair.split(","))) for pair in path.rsplit("/", 1)[1].split(";")]
        everyone = ";".join(str(i) for i in range(len(coordinates)))
        sources = [int(i) for i in query.get("sources", [everyone])[0].split(";")]
        destinations = [int(i) for i in query.get("destinations", [everyone])[0].split(";")]

        def seconds(i: int, j: int) -> float | None:
            (lon_a, lat_a), (lon_b, lat_b) = coordinates[i], coordinates[j]
            if (round(lat_a, 3), round(lat_b, 3)) in self.unreachable:
                return None
            return (abs(lat_a - lat_b) + abs(lon_a - lon_b)) * 10_000 + 0.4

        durations = [[seconds(i, j) for j in destinations] for i in sources]
        distances = [[None if s is None else s * 10 for s in row] for row in durations]
        return {"code": "Ok", "durations": durations, "distances": distances}


@pytest.fixture
def osrm():
    server = FakeOsrm()
    yield server
    server.server.shutdown()
    server.server.server_close()


POINTS = [(48.85, 2.35), (48.86, 2.36), (48.87, 2.30)]


async def test_osrm_matrix_calls_the_table_api_and_parses_integers(osrm):
    # given
    provider = OsrmMatrix(osrm.url + "/", profile="car")

    # when
    matrix = await provider.matrix(POINTS)
    await provider.aclose()

    # then: one request, lon,lat order, both annotations asked for
    [(path, query)] = osrm.requests
    assert path == "/table/v1/car/2.350000,48.850000;2.360000,48.860000;2.300000,48.870000"
    assert query == {"annotations": ["duration,distance"]}
    assert matrix.durations == [[0, 200, 700], [200, 0, 700], [700, 700, 0]]
    assert matrix.distances == [[4, 2004, 7004], [2004, 4, 7004], [7004, 7004, 4]]


async def test_osrm_unreachable_pairs_become_a_large_sentinel(osrm):
    # given: no road from the first point to the last
    osrm.unreachable = {(48.85, 48.87)}

    # when
    matrix = await OsrmMatrix(osrm.url).matrix(POINTS)

    # then
    assert matrix.durations[0][2] == UNREACHABLE
    assert matrix.distances[0][2] == UNREACHABLE
    assert matrix.durations[2][0] == 700


async def test_osrm_large_point_sets_are_requested_in_blocks_within_the_table_limit(osrm):
    # given
    points = [(48.80 + i / 100, 2.30 + (i % 3) / 100) for i in range(7)]
    whole = await OsrmMatrix(osrm.url).matrix(points)
    osrm.requests.clear()

    # when
    blocked = await OsrmMatrix(osrm.url, max_table_size=4).matrix(points)

    # then: same matrix, every request within 4 coordinates, using sources/destinations
    assert blocked == whole
    assert len(osrm.requests) == 16
    assert all(len(path.rsplit("/", 1)[1].split(";")) <= 4 for path, _ in osrm.requests)
    assert any("sources" in query and "destinations" in query for _, query in osrm.requests)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, {"code": "InvalidQuery", "message": "Query string malformed"}, "InvalidQuery"),
        (200, {"code": "NoTable", "message": "no table"}, "NoTable"),
        (200, {"code": "Ok", "durations": [[0]]}, "durations"),
        (502, ["not", "an", "object"], "HTTP 502"),
    ],
)
async def test_osrm_error_answers_raise_matrix_error(osrm, status, body, message):
    # given
    osrm.error = (status, body)

    # when / then
    with pytest.raises(MatrixError, match=message):
        await OsrmMatrix(osrm.url).matrix(POINTS)


async def test_osrm_unreachable_server_raises_matrix_error():
    # given: a port nobody listens on
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    server.server_close()

    # when / then
    with pytest.raises(MatrixError, match="failed"):
        await OsrmMatrix(url, timeout=2).matrix(POINTS)


async def test_cached_matrix_reuses_the_answer_for_the_same_points_in_any_order(osrm):
    # given
    provider = CachedMatrix(OsrmMatrix(osrm.url))
    first = await provider.matrix(POINTS)

    # when: the same points within rounding, then reordered with a repeat, then a subset
    again = await provider.matrix([(lat + 1e-8, lon) for lat, lon in POINTS])
    reordered = await provider.matrix([POINTS[2], POINTS[0], POINTS[1], POINTS[2]])
    subset = await provider.matrix([POINTS[1], POINTS[0]])

    # then
    assert len(osrm.requests) == 1
    assert again == first
    assert reordered.durations == [[0, 700, 700, 0], [700, 0, 200, 700], [700, 200, 0, 700], [0, 700, 700, 0]]
    assert subset.distances == [[4, 2004], [2004, 4]]


async def test_cached_matrix_evicts_the_least_recently_used_set(osrm):
    # given
    provider = CachedMatrix(OsrmMatrix(osrm.url), max_entries=1)
    await provider.matrix(POINTS[:2])
    await provider.matrix(POINTS[1:])

    # when
    await provider.matrix(POINTS[:2])

    # then
    assert len(osrm.requests) == 3


def test_settings_choose_osrm_only_when_a_url_is_given():
    # when
    default = matrix_provider_from_settings(None, speed_kmh=25)
    routed = matrix_provider_from_settings("http://osrm:5000", speed_kmh=25)

    # then
    assert isinstance(default, CachedMatrix) and isinstance(default.inner, HaversineMatrix)
    assert default.inner.speed_kmh == 25
    assert isinstance(routed, CachedMatrix) and isinstance(routed.inner, OsrmMatrix)
    assert routed.inner.base_url == "http://osrm:5000"
