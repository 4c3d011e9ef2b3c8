"""Full text over titles and tags (issue 22): the generated ``search_tsv`` column with its GIN index, and the
lexicon of title/tag words (document counts, trigram index) kept by triggers.

``search_tsv`` is computed by PostgreSQL on every INSERT and UPDATE (a stored generated column), so it is in step
with every write without any code: uploads, reindexing, metadata updates; a deleted row takes it along. Generated
columns need an IMMUTABLE expression and ``array_to_string`` is only STABLE (for arrays of any type), hence the
usual idiom: an IMMUTABLE SQL wrapper for the text[] join. The lexicon follows the same writes through
statement-level triggers with transition tables (one upsert per statement, words in sorted order).
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import TrigramExtension
from django.contrib.postgres.search import SearchVectorField
from django.db import migrations, models

FUNCTIONS = """
CREATE FUNCTION stickers_join_tags(tags text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(array_to_string(tags, ' '), '') $$;

CREATE FUNCTION stickers_search_document(title text, tags text[]) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
              || to_tsvector('english'::regconfig, stickers_join_tags(tags))
              || setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A')
              || to_tsvector('simple'::regconfig, stickers_join_tags(tags)) $$;

CREATE FUNCTION stickers_words(title text, tags text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT tsvector_to_array(to_tsvector('simple'::regconfig,
                                                coalesce(title, '') || ' ' || stickers_join_tags(tags))) $$;

CREATE FUNCTION stickers_word_forms(word text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_tsvector('english'::regconfig, word) || to_tsvector('simple'::regconfig, word) $$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION stickers_word_forms(text);
DROP FUNCTION stickers_words(text, text[]);
DROP FUNCTION stickers_search_document(text, text[]);
DROP FUNCTION stickers_join_tags(text[]);
"""

TRIGGERS = """
CREATE FUNCTION stickers_lexicon_apply(words text[], deltas int[]) RETURNS void
    LANGUAGE sql VOLATILE
    AS $$
        INSERT INTO stickers_lexiconword (word, documents)
            SELECT w, d FROM unnest(words, deltas) AS u (w, d) WHERE d <> 0 ORDER BY w
            ON CONFLICT (word) DO UPDATE SET documents = stickers_lexiconword.documents + excluded.documents;
        DELETE FROM stickers_lexiconword WHERE word = ANY(words) AND documents <= 0;
    $$;

CREATE FUNCTION stickers_lexicon_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stickers_lexicon_apply(array_agg(w ORDER BY w), array_agg(n ORDER BY w))
    FROM (SELECT w, count(*)::int AS n FROM new_rows, unnest(stickers_words(title, tags)) AS w GROUP BY w) x;
    RETURN NULL;
END $$;

CREATE FUNCTION stickers_lexicon_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stickers_lexicon_apply(array_agg(w ORDER BY w), array_agg(n ORDER BY w))
    FROM (SELECT w, -count(*)::int AS n FROM old_rows, unnest(stickers_words(title, tags)) AS w GROUP BY w) x;
    RETURN NULL;
END $$;

CREATE FUNCTION stickers_lexicon_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stickers_lexicon_apply(array_agg(w ORDER BY w), array_agg(n ORDER BY w))
    FROM (SELECT w, sum(d)::int AS n
          FROM (SELECT w, 1 AS d FROM new_rows, unnest(stickers_words(title, tags)) AS w
                UNION ALL
                SELECT w, -1 FROM old_rows, unnest(stickers_words(title, tags)) AS w) changes
          GROUP BY w HAVING sum(d) <> 0) x;
    RETURN NULL;
END $$;

CREATE TRIGGER stickers_lexicon_insert AFTER INSERT ON stickers_sticker
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stickers_lexicon_on_insert();
CREATE TRIGGER stickers_lexicon_delete AFTER DELETE ON stickers_sticker
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stickers_lexicon_on_delete();
CREATE TRIGGER stickers_lexicon_update AFTER UPDATE ON stickers_sticker
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION stickers_lexicon_on_update();

INSERT INTO stickers_lexiconword (word, documents)
    SELECT w, count(*) FROM stickers_sticker, unnest(stickers_words(title, tags)) AS w GROUP BY w;
"""

DROP_TRIGGERS = """
DROP TRIGGER stickers_lexicon_update ON stickers_sticker;
DROP TRIGGER stickers_lexicon_delete ON stickers_sticker;
DROP TRIGGER stickers_lexicon_insert ON stickers_sticker;
DROP FUNCTION stickers_lexicon_on_update();
DROP FUNCTION stickers_lexicon_on_delete();
DROP FUNCTION stickers_lexicon_on_insert();
DROP FUNCTION stickers_lexicon_apply(text[], int[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("stickers", "0002_blended_embedding"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        migrations.AddField(
            model_name="sticker",
            name="search_tsv",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Func(
                    models.F("title"),
                    models.F("tags"),
                    function="stickers_search_document",
                    output_field=SearchVectorField(),
                ),
                output_field=SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="sticker",
            index=GinIndex(fields=["search_tsv"], name="stickers_search_tsv_idx"),
        ),
        migrations.CreateModel(
            name="LexiconWord",
            fields=[
                ("word", models.TextField(primary_key=True, serialize=False)),
                ("documents", models.IntegerField()),
                (
                    "forms",
                    models.GeneratedField(
                        db_persist=True,
                        expression=models.Func(
                            models.F("word"), function="stickers_word_forms", output_field=SearchVectorField()
                        ),
                        output_field=SearchVectorField(),
                    ),
                ),
            ],
            options={
                "indexes": [
                    GinIndex(fields=["forms"], name="stickers_lexicon_forms_idx"),
                    GinIndex(fields=["word"], name="stickers_lexicon_trgm_idx", opclasses=["gin_trgm_ops"]),
                ],
            },
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
