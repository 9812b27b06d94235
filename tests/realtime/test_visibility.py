"""What a shared rendering is keyed on: the payload's variables and types, and the viewer's visibility."""
from graphql import parse

from app.api.schema import build_schema
from app.auth.principal import Principal
from app.config import Settings
from app.realtime.visibility import selection_of, visibility_key
from app.tenants.models import Role

SCHEMA = build_schema(Settings())._schema


def _selection(text: str):  # noqa: ANN202
    document = parse(text)
    operation = document.definitions[0]
    return selection_of(SCHEMA, document, operation, operation.selection_set.selections[0])


def test_root_arguments_choose_the_stream_but_directive_and_fragment_variables_shape_the_payload():
    # given a document whose root field takes the cursor and whose payload is shaped by a directive and a fragment
    selection = _selection(
        "subscription($d: ID!, $a: ID, $show: Boolean!) { exceptionEvents(depotId: $d, after: $a) @include(if: $show) "
        "{ id ...Who } } fragment Who on ExceptionEvent { actor { id name } }"
    )

    # then only the directive's variable is part of the key, and the fragment's types are counted
    assert selection.variables == {"show"}
    assert selection.types == {"ExceptionEvent", "User"}
    assert selection.viewer_independent


def test_a_type_not_audited_makes_the_rendering_per_user():
    # given route updates that select stops
    selection = _selection("subscription($r: ID!) { routeUpdates(routeId: $r) { cursor stops { id } } }")
    first = Principal(user_id=1, tenant_id=7, role=Role.DRIVER, scopes=frozenset())
    second = Principal(user_id=2, tenant_id=7, role=Role.DRIVER, scopes=frozenset())

    # then two users of the same role and tenant do not share a rendering
    assert not selection.viewer_independent
    assert visibility_key(first, selection) != visibility_key(second, selection)


def test_audited_types_are_shared_by_role_within_a_tenant_only():
    # given the dispatcher document's selection
    selection = _selection("subscription($d: ID!) { exceptionEvents(depotId: $d) { id actor { name } } }")
    ann = Principal(user_id=1, tenant_id=7, role=Role.DISPATCHER, scopes=frozenset())
    bob = Principal(user_id=2, tenant_id=7, role=Role.DISPATCHER, scopes=frozenset())
    boss = Principal(user_id=3, tenant_id=7, role=Role.SUPERVISOR, scopes=frozenset())
    stranger = Principal(user_id=4, tenant_id=8, role=Role.DISPATCHER, scopes=frozenset())
    narrowed = Principal(user_id=5, tenant_id=7, role=Role.DISPATCHER, scopes=frozenset(), depot_ids=frozenset({3}))

    # then two dispatchers share, while another role, tenant or depot grant does not
    assert visibility_key(ann, selection) == visibility_key(bob, selection)
    assert len({visibility_key(p, selection) for p in (ann, boss, stranger, narrowed)}) == 4
