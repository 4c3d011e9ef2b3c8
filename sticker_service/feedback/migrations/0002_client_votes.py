import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("searches", "0002_normalize_queries"),
        ("feedback", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="feedbackevent",
            name="client",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.CreateModel(
            name="ClientVote",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "client",
                    models.CharField(help_text="SHA-256 of the client identity (searches.normalize).", max_length=64),
                ),
                ("vote", models.SmallIntegerField(choices=[(1, "positive"), (-1, "negative")])),
                ("updated_at", models.DateTimeField()),
                (
                    "query",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="client_votes", to="searches.query"
                    ),
                ),
                (
                    "sticker",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="client_votes", to="catalog.sticker"
                    ),
                ),
            ],
            options={
                "ordering": ["query", "sticker", "client"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("query", "sticker", "client"), name="client_vote_query_sticker_client"
                    )
                ],
            },
        ),
    ]
