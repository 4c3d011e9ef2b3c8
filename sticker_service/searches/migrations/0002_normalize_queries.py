"""Queries in one normal form (NFKC, case-folded, inner whitespace collapsed, trimmed): rows whose texts share a
normal form are merged into one, with their counters.

For each group of colliding rows the one with the smallest id is kept under the normal form: usage counts
added, first_searched_at the earliest, last_searched_at the latest; feedback counters of the same sticker
added into one row, feedback events moved to it; the other rows are deleted. Other tables that refer to
queries are re-pointed too (any foreign key to searches.Query, found through the app registry). Not
reversible in meaning (the original spellings are gone); reversing leaves the rows as they are.
"""

import unicodedata
from collections import defaultdict

from django.db import migrations

QUERY_MAX_LENGTH = 256


def normal_form(text: str) -> str:
    # Frozen copy of searches.normalize.normalize_query as of this migration.
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    normal = " ".join(folded.split())[:QUERY_MAX_LENGTH].rstrip()
    return normal or text.strip()[:QUERY_MAX_LENGTH]


def _merge_counters(Counter, keep_id: int, other_ids: list[int]) -> None:
    for row in Counter.objects.filter(query_id__in=other_ids).order_by("id"):
        target = Counter.objects.filter(query_id=keep_id, sticker_id=row.sticker_id).first()
        if target is None:
            row.query_id = keep_id
            row.save(update_fields=["query"])
            continue
        target.positive += row.positive
        target.negative += row.negative
        target.updated_at = max(target.updated_at, row.updated_at)
        target.save(update_fields=["positive", "negative", "updated_at"])
        row.delete()


def normalize_queries(apps, schema_editor):
    Query = apps.get_model("searches", "Query")
    Counter = apps.get_model("feedback", "FeedbackCounter")
    groups: dict[str, list] = defaultdict(list)
    for query in Query.objects.order_by("id").iterator(chunk_size=2000):
        groups[normal_form(query.text)].append(query)
    # Other models pointing at Query (feedback events, and whatever later apps add) are re-pointed generically.
    referrers = [
        (field.model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if getattr(field, "many_to_one", False) and field.related_model is Query and model is not Counter
    ]
    for normal, rows in groups.items():
        if len(rows) == 1 and rows[0].text == normal:
            continue
        keep, others = rows[0], rows[1:]
        other_ids = [row.id for row in others]
        if others:
            _merge_counters(Counter, keep.id, other_ids)
            for model, name in referrers:
                model.objects.filter(**{f"{name}_id__in": other_ids}).update(**{f"{name}_id": keep.id})
            keep.usage_count = sum(row.usage_count for row in rows)
            keep.first_searched_at = min(row.first_searched_at for row in rows)
            keep.last_searched_at = max(row.last_searched_at for row in rows)
            Query.objects.filter(id__in=other_ids).delete()
        keep.text = normal  # a row that held the normal form was in this group, so it is deleted by now
        keep.save()


class Migration(migrations.Migration):
    dependencies = [
        ("searches", "0001_initial"),
        ("feedback", "0001_initial"),
    ]

    operations = [migrations.RunPython(normalize_queries, migrations.RunPython.noop)]
