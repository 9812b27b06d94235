"""The validation step (limits included) runs once per document text, not once per request."""
from strawberry.extensions.validation_cache import _get_validate_cache

from tests.factories import gql

QUERY = "query CachedRoute { myRoute { id stops { id address } } }"


async def test_identical_documents_are_validated_once(client, factory):
    # given a driver and the process-wide validation cache the schema uses
    fleet = await factory.fleet(stops=2)
    token = factory.token(fleet.driver)
    cache = _get_validate_cache(256)
    await gql(client, QUERY, token=token)
    before = cache.cache_info()

    # when the same document is sent five more times
    for _ in range(5):
        result = await gql(client, QUERY, token=token)
        assert "errors" not in result, result

    # then every one of them is answered from the cache (the limits rule is the same class for every request)
    after = cache.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (5, 0)
