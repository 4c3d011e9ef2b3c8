"""searches 0002: rows whose texts share a normal form are merged, with their usage, feedback counters and events."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("searches", "0001_initial"), ("feedback", "0001_initial"), ("catalog", "0001_initial")]
AFTER = [("searches", "0002_normalize_queries"), ("feedback", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_schema():
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_colliding_rows_are_merged_with_their_counters(old_schema):
    Query = old_schema.get_model("searches", "Query")
    Sticker = old_schema.get_model("catalog", "Sticker")
    Counter = old_schema.get_model("feedback", "FeedbackCounter")
    Event = old_schema.get_model("feedback", "FeedbackEvent")
    now = timezone.now()
    day = timedelta(days=1)
    rows = {
        text: Query.objects.create(
            text=text, usage_count=uses, first_searched_at=now - first * day, last_searched_at=now - last * day
        )
        for text, uses, first, last in [
            ("Cat", 3, 5, 2),
            ("cat", 4, 3, 1),
            ("CAT  ", 1, 9, 9),
            ("ｃａｔ", 2, 4, 0),
            ("dog", 7, 1, 1),
            ("Big  Dog", 1, 1, 1),
        ]
    }
    a, b = Sticker.objects.create(filename="a.png"), Sticker.objects.create(filename="b.png")
    for text, sticker, positive, negative in [
        ("Cat", a, 2, 1),
        ("cat", a, 3, 0),
        ("CAT  ", b, 0, 4),
        ("ｃａｔ", a, 1, 1),
        ("dog", b, 5, 0),
    ]:
        Counter.objects.create(query=rows[text], sticker=sticker, positive=positive, negative=negative, updated_at=now)
    for text in ("Cat", "cat", "CAT  ", "ｃａｔ", "dog"):
        Event.objects.create(query=rows[text], sticker=a, vote=1, created_at=now)

    new_apps = migrate(AFTER)
    Query = new_apps.get_model("searches", "Query")
    Counter = new_apps.get_model("feedback", "FeedbackCounter")
    Event = new_apps.get_model("feedback", "FeedbackEvent")
    merged = {q.text: q for q in Query.objects.all()}
    assert set(merged) == {"cat", "dog", "big dog"}
    cat = merged["cat"]
    assert cat.id == rows["Cat"].id  # the oldest row is kept
    assert cat.usage_count == 3 + 4 + 1 + 2
    assert cat.first_searched_at == now - 9 * day and cat.last_searched_at == now
    assert merged["dog"].usage_count == 7 and merged["big dog"].usage_count == 1
    counters = {(c.query.text, c.sticker.filename): (c.positive, c.negative) for c in Counter.objects.all()}
    assert counters == {("cat", "a.png"): (6, 2), ("cat", "b.png"): (0, 4), ("dog", "b.png"): (5, 0)}
    assert sorted(Event.objects.values_list("query__text", flat=True)) == ["cat"] * 4 + ["dog"]
