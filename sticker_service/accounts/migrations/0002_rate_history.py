"""The rate limits' request history when REDIS_URL is empty (core/rate_store.py): an UNLOGGED table (no WAL, emptied
by PostgreSQL after a crash), one row per client and scope."""

from django.db import migrations

from sticker_service.core.rate_store import TABLE


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_cache_table")]
    operations = [
        migrations.RunSQL(
            f"CREATE UNLOGGED TABLE {TABLE} (key varchar(255) PRIMARY KEY, hits float8[] NOT NULL, "
            "allowed boolean NOT NULL, expires float8 NOT NULL)",
            f"DROP TABLE {TABLE}",
        )
    ]
