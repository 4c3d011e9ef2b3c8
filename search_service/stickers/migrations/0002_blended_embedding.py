"""The blended embedding of each sticker (ranking core v2), filled for the rows that exist.

Existing rows are blended with the SEARCH_TEXT_WEIGHT this migration runs with, in one UPDATE (pgvector's
element-wise products, the same float32 arithmetic as ``stickers.blending.blend``). The title/tags HNSW indexes
are no longer used by the ranking and are dropped; the blended indexes are created by the next indexing, or by
``python -m search_service reblend``.
"""

from django.conf import settings
from django.db import migrations, models
import pgvector.django.vector


def fill_blended(apps, schema_editor):
    from search_service.stickers.blending import blend_sql

    table = apps.get_model("stickers", "Sticker")._meta.db_table
    weight = float(settings.SEARCH_TEXT_WEIGHT)
    schema_editor.execute(f"UPDATE {table} SET blended_embedding = {blend_sql()}, blend_weight = %(w)s", {"w": weight})


DROP_TEXT_INDEXES = """
DO $$
DECLARE name text;
BEGIN
    FOR name IN SELECT c.relname FROM pg_class c WHERE c.relkind = 'i' AND c.relname LIKE 'stickers\\_txt\\_hnsw\\_%' LOOP
        EXECUTE format('DROP INDEX %I', name);
    END LOOP;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("stickers", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="sticker",
            name="blend_weight",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="sticker",
            name="blended_embedding",
            field=pgvector.django.vector.VectorField(blank=True, null=True),
        ),
        migrations.RemoveIndex(
            model_name="sticker",
            name="stickers_model_id_idx",
        ),
        migrations.AddIndex(
            model_name="sticker",
            index=models.Index(fields=["model_id", "blend_weight"], name="stickers_model_blend_idx"),
        ),
        migrations.RunSQL(DROP_TEXT_INDEXES, migrations.RunSQL.noop),
        migrations.RunPython(fill_blended, migrations.RunPython.noop),
    ]
