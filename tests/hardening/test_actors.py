"""Issue 15 item 7: the system's own SMS is an event of actorRole "system", never read as the customer's answer."""
import json
import sqlite3
from datetime import timedelta

from app import migrate
from app.analytics import service as analytics
from app.clock import current_time
from app.outreach.models import NotificationStatus
from tests.outreach.conftest import drain, notifications, report

TIMELINE = "query T($id: ID!) { exception(id: $id) { timeline { type actorRole payload } } }"


async def test_the_workers_contact_event_is_the_systems_and_counts_as_no_contact(http, factory, twilio, worker, outreach_runtime):
    # given an exception whose customer was texted by the worker and never answered
    fleet = await factory.fleet(stops=1)
    exc = await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await drain(worker)
    [sms, _reminder] = await notifications(outreach_runtime, exception_id=int(exc["id"]))
    assert sms.status is NotificationStatus.SENT

    # when the dispatcher reads the timeline and the analytics read the contact channels
    body = (await http.post("/graphql", json={"query": TIMELINE, "variables": {"id": exc["id"]}},
                            headers={"Authorization": f"Bearer {factory.token(fleet.dispatcher)}"})).json()
    async with outreach_runtime.sessionmaker() as session:
        scope = analytics.Scope(tenant_id=fleet.tenant.id, start=current_time() - timedelta(days=1), end=current_time() + timedelta(days=1))
        channels = {channel: n for channel, _outcome, n, _avg in await analytics.customer_preference(session=session, scope=scope)}

    # then the contact event carries the system's role and its source, and nothing counts as self-service
    contacted = body["data"]["exception"]["timeline"][-1]
    assert contacted["actorRole"] == "system" and contacted["payload"]["source"] == "outreach.outbox"
    assert channels.get("SELF_SERVICE", 0) == 0 and channels["NO_CONTACT"] == 1


def test_migration_gives_rows_already_written_their_actor(tmp_path):
    # given a database at the revision before, with a worker's contact event and a customer's answer, both actor-less
    path = tmp_path / "actors.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}", "0008_harden_inbound")
    with sqlite3.connect(path) as db:  # the stdlib driver does not enforce foreign keys: the timeline rows alone
        for event_id, payload in ((1, {"from": "OPEN", "to": "CONTACTING_CUSTOMER", "notificationId": 7}),
                                  (2, {"customerResponseId": 3, "option": "RESCHEDULE", "source": "SMS_REPLY"}),
                                  (3, {"note": "something else"})):
            db.execute(
                "INSERT INTO exception_event (id, tenant_id, depot_id, route_id, exception_id, type, step, occurred_at, payload)"
                " VALUES (?, 1, 1, 1, 1, 'STATUS_CHANGED', 'CUSTOMER_CONTACTED', '2026-11-30 10:00:00', ?)",
                (event_id, json.dumps(payload)),
            )

    # when the migration runs
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")

    # then the worker's event is the system's (with its source), the answer the customer's, the rest untouched
    with sqlite3.connect(path) as db:
        rows = {i: (role, json.loads(p)) for i, role, p in db.execute("SELECT id, actor_role, payload FROM exception_event")}
    assert rows[1] == ("system", {"from": "OPEN", "to": "CONTACTING_CUSTOMER", "notificationId": 7, "source": "outreach.outbox"})
    assert rows[2][0] == "customer" and rows[3][0] is None
