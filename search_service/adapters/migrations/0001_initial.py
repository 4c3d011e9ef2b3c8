from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="QueryAdapter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("model_id", models.CharField(help_text="Encoder the adapter was trained for.", max_length=255)),
                ("dim", models.PositiveIntegerField()),
                ("rank", models.PositiveIntegerField()),
                ("weights", models.BinaryField(help_text="float32 .npz: down (dim x rank), up (rank x dim).")),
                ("stats", models.JSONField(blank=True, default=dict, help_text="Training data and losses.")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "rolled_back_at",
                    models.DateTimeField(blank=True, help_text="Set by train_query_adapter --rollback.", null=True),
                ),
            ],
            options={
                "ordering": ["-id"],
                "indexes": [models.Index(fields=["model_id", "-id"], name="adapter_model_newest")],
            },
        ),
    ]
