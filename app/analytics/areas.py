"""H3 cells as 64-bit integers, so SQL can roll a stored cell up to any coarser resolution with bit arithmetic."""
import h3

STORED_RESOLUTION = 15
_RESOLUTION_SHIFT = 52
_RESOLUTION_BITS = 0xF << _RESOLUTION_SHIFT
_BITS_PER_DIGIT = 3


def _unused_digits_mask(resolution: int) -> int:
    """The bits of the digits finer than `resolution` (an H3 index sets unused digits to 7)."""
    return (1 << (_BITS_PER_DIGIT * (STORED_RESOLUTION - resolution))) - 1


def check_resolution(resolution: int) -> int:
    if not 0 <= resolution <= STORED_RESOLUTION:
        raise ValueError(f"an H3 resolution is between 0 and {STORED_RESOLUTION}")
    return resolution


def stored_cell(lat: float, lon: float) -> int:
    """The finest-resolution cell of a point, as the integer the database stores."""
    return h3.str_to_int(h3.latlng_to_cell(lat, lon, STORED_RESOLUTION))


def parent_bits(resolution: int) -> tuple[int, int]:
    """(keep, set) such that `(cell & keep) | set` is the cell's parent at `resolution`."""
    check_resolution(resolution)
    keep = ~_RESOLUTION_BITS  # a negative Python int: the same 64 bits as a signed BIGINT
    return keep, (resolution << _RESOLUTION_SHIFT) | _unused_digits_mask(resolution)


def descendant_range(cell: str) -> tuple[int, int]:
    """The contiguous range of stored (finest) cell integers that lie inside `cell`."""
    if not h3.is_valid_cell(cell):
        raise ValueError(f"{cell!r} is not an H3 cell")
    value, resolution = h3.str_to_int(cell), h3.get_resolution(cell)
    finest = (value & ~_RESOLUTION_BITS) | (STORED_RESOLUTION << _RESOLUTION_SHIFT)
    mask = _unused_digits_mask(resolution)
    return finest & ~mask, finest | mask


def cell_label(value: int) -> str:
    """The usual hexadecimal H3 string of a cell integer."""
    return h3.int_to_str(value)


def cell_centre(value: int) -> tuple[float, float]:
    return h3.cell_to_latlng(h3.int_to_str(value))


def cell_boundary(value: int) -> list[list[float]]:
    """The cell's corners as [lat, lon] pairs (rounded to ~1 m)."""
    return [[round(lat, 5), round(lon, 5)] for lat, lon in h3.cell_to_boundary(h3.int_to_str(value))]
