"""The HNSW indexes on ``halfvec`` (float16) casts of the embeddings instead of ``vector`` (issue 25).

The stored columns stay full precision; only the indexes (and the expression every ranking orders by,
``stickers.vector_index.column_expr``) change type. The old ``vector(D)`` indexes are dropped and the
``halfvec(D)`` ones built for every (model, dimension) in the table, in this migration's transaction: at 100k
stickers a build of both indexes takes minutes on 2 cores (benchmarks/RESULTS.md, "The vector scan's limits"),
during which writes to the table wait. The reverse builds the ``vector`` indexes again under their old names.
"""

from django.db import migrations


def rebuild(storage: str):
    def run(apps, schema_editor):
        from search_service.stickers import vector_index

        previous, vector_index.STORAGE = vector_index.STORAGE, storage
        try:
            vector_index.rebuild_vector_indexes()
        finally:
            vector_index.STORAGE = previous
            vector_index.forget_ensured()

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("stickers", "0003_full_text"),
    ]

    operations = [migrations.RunPython(rebuild("halfvec"), rebuild("vector"))]
