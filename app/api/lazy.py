"""Schema back-references between domains: a field may return another domain's type without importing it."""
import typing
from functools import cache


@cache
def lazy_type(ref: object) -> typing.Any:
    """The class behind `Annotated["Name", strawberry.lazy("module")]`, resolved by the schema's own lazy loader."""
    forward, reference = typing.get_args(ref)[:2]
    return reference.resolve_forward_ref(forward).resolve_type()
