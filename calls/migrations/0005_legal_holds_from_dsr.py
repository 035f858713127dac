"""Legal holds move from the requests app to calls, beside retention and the deletion guard.

State only: the tables keep their names (``dsr_legalhold``, ``dsr_legalholdcall``,
``dsr_legalholdnumber`` and their history tables), so no row is copied or lost. The requests
app's migration ``dsr.0003_legal_holds_to_calls`` drops the models from its state and moves the
content types (permissions and object permissions stay valid).
"""

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dsr", "0002_legal_holds_and_erasure"),
        ("calls", "0004_call_partial_indexes_flagged_restricted"),
        ("portal", "0003_webhookdelivery_recent_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="HistoricalLegalHold",
                    fields=[
                        (
                            "id",
                            models.BigIntegerField(
                                auto_created=True, blank=True, db_index=True, verbose_name="ID"
                            ),
                        ),
                        ("history_actor", models.CharField(blank=True, default="", max_length=150)),
                        (
                            "reason_category",
                            models.CharField(
                                choices=[
                                    ("litigation", "Litigation"),
                                    ("statute_of_limitations", "Statute of limitations"),
                                    ("regulator", "Regulator's request or order"),
                                    ("other", "Other (the ground is named)"),
                                ],
                                max_length=24,
                            ),
                        ),
                        (
                            "legal_ground",
                            models.CharField(
                                choices=[
                                    (
                                        "art_17_3_a",
                                        "Art. 17(3)(a): freedom of expression and information",
                                    ),
                                    (
                                        "art_17_3_b",
                                        "Art. 17(3)(b): compliance with a legal obligation",
                                    ),
                                    (
                                        "art_17_3_c",
                                        "Art. 17(3)(c): public interest in public health",
                                    ),
                                    (
                                        "art_17_3_d",
                                        "Art. 17(3)(d): archiving, research or statistics",
                                    ),
                                    (
                                        "art_17_3_e",
                                        "Art. 17(3)(e): establishment, exercise or defence of legal claims",
                                    ),
                                ],
                                help_text="The Art. 17(3) exception the hold relies on.",
                                max_length=12,
                            ),
                        ),
                        (
                            "reason",
                            models.TextField(
                                help_text="Why the data is kept (case, authority, claim). Name no phone numbers here: use the numbers scope."
                            ),
                        ),
                        (
                            "scope",
                            models.CharField(
                                choices=[
                                    ("calls", "Specific calls"),
                                    ("numbers", "Every call with a subject's numbers"),
                                    ("period", "The tenant's calls in a period"),
                                ],
                                max_length=8,
                            ),
                        ),
                        ("period_from", models.DateTimeField(blank=True, null=True)),
                        (
                            "period_to",
                            models.DateTimeField(blank=True, help_text="Empty: no end.", null=True),
                        ),
                        ("starts_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "expires_at",
                            models.DateTimeField(
                                blank=True, help_text="Empty: until released.", null=True
                            ),
                        ),
                        (
                            "applied_at",
                            models.DateTimeField(default=django.utils.timezone.now, editable=False),
                        ),
                        ("released_at", models.DateTimeField(blank=True, null=True)),
                        ("release_reason", models.TextField(blank=True)),
                        ("history_id", models.AutoField(primary_key=True, serialize=False)),
                        ("history_date", models.DateTimeField(db_index=True)),
                        ("history_change_reason", models.TextField(null=True)),
                        (
                            "history_type",
                            models.CharField(
                                choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")],
                                max_length=1,
                            ),
                        ),
                        (
                            "applied_by",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "applied_by_api_key",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="portal.apikey",
                            ),
                        ),
                        (
                            "history_user",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "released_by",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "released_by_api_key",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="portal.apikey",
                            ),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="portal.tenant",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "historical legal hold",
                        "verbose_name_plural": "historical legal holds",
                        "db_table": "dsr_historicallegalhold",
                        "ordering": ("-history_date", "-history_id"),
                        "get_latest_by": ("history_date", "history_id"),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name="LegalHold",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "reason_category",
                            models.CharField(
                                choices=[
                                    ("litigation", "Litigation"),
                                    ("statute_of_limitations", "Statute of limitations"),
                                    ("regulator", "Regulator's request or order"),
                                    ("other", "Other (the ground is named)"),
                                ],
                                max_length=24,
                            ),
                        ),
                        (
                            "legal_ground",
                            models.CharField(
                                choices=[
                                    (
                                        "art_17_3_a",
                                        "Art. 17(3)(a): freedom of expression and information",
                                    ),
                                    (
                                        "art_17_3_b",
                                        "Art. 17(3)(b): compliance with a legal obligation",
                                    ),
                                    (
                                        "art_17_3_c",
                                        "Art. 17(3)(c): public interest in public health",
                                    ),
                                    (
                                        "art_17_3_d",
                                        "Art. 17(3)(d): archiving, research or statistics",
                                    ),
                                    (
                                        "art_17_3_e",
                                        "Art. 17(3)(e): establishment, exercise or defence of legal claims",
                                    ),
                                ],
                                help_text="The Art. 17(3) exception the hold relies on.",
                                max_length=12,
                            ),
                        ),
                        (
                            "reason",
                            models.TextField(
                                help_text="Why the data is kept (case, authority, claim). Name no phone numbers here: use the numbers scope."
                            ),
                        ),
                        (
                            "scope",
                            models.CharField(
                                choices=[
                                    ("calls", "Specific calls"),
                                    ("numbers", "Every call with a subject's numbers"),
                                    ("period", "The tenant's calls in a period"),
                                ],
                                max_length=8,
                            ),
                        ),
                        ("period_from", models.DateTimeField(blank=True, null=True)),
                        (
                            "period_to",
                            models.DateTimeField(blank=True, help_text="Empty: no end.", null=True),
                        ),
                        ("starts_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "expires_at",
                            models.DateTimeField(
                                blank=True, help_text="Empty: until released.", null=True
                            ),
                        ),
                        (
                            "applied_at",
                            models.DateTimeField(default=django.utils.timezone.now, editable=False),
                        ),
                        ("released_at", models.DateTimeField(blank=True, null=True)),
                        ("release_reason", models.TextField(blank=True)),
                        (
                            "applied_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "applied_by_api_key",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="portal.apikey",
                            ),
                        ),
                        (
                            "released_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "released_by_api_key",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="portal.apikey",
                            ),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="portal.tenant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "dsr_legalhold",
                        "ordering": ["-applied_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="HistoricalLegalHoldNumber",
                    fields=[
                        (
                            "id",
                            models.BigIntegerField(
                                auto_created=True, blank=True, db_index=True, verbose_name="ID"
                            ),
                        ),
                        ("history_actor", models.CharField(blank=True, default="", max_length=150)),
                        ("number", models.CharField(help_text="E.164", max_length=20)),
                        ("history_id", models.AutoField(primary_key=True, serialize=False)),
                        ("history_date", models.DateTimeField(db_index=True)),
                        ("history_change_reason", models.TextField(null=True)),
                        (
                            "history_type",
                            models.CharField(
                                choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")],
                                max_length=1,
                            ),
                        ),
                        (
                            "history_user",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="portal.tenant",
                            ),
                        ),
                        (
                            "hold",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="calls.legalhold",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "historical legal hold number",
                        "verbose_name_plural": "historical legal hold numbers",
                        "db_table": "dsr_historicallegalholdnumber",
                        "ordering": ("-history_date", "-history_id"),
                        "get_latest_by": ("history_date", "history_id"),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name="HistoricalLegalHoldCall",
                    fields=[
                        (
                            "id",
                            models.BigIntegerField(
                                auto_created=True, blank=True, db_index=True, verbose_name="ID"
                            ),
                        ),
                        ("history_actor", models.CharField(blank=True, default="", max_length=150)),
                        ("history_id", models.AutoField(primary_key=True, serialize=False)),
                        ("history_date", models.DateTimeField(db_index=True)),
                        ("history_change_reason", models.TextField(null=True)),
                        (
                            "history_type",
                            models.CharField(
                                choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")],
                                max_length=1,
                            ),
                        ),
                        (
                            "call",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="calls.call",
                            ),
                        ),
                        (
                            "history_user",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="portal.tenant",
                            ),
                        ),
                        (
                            "hold",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="calls.legalhold",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "historical legal hold call",
                        "verbose_name_plural": "historical legal hold calls",
                        "db_table": "dsr_historicallegalholdcall",
                        "ordering": ("-history_date", "-history_id"),
                        "get_latest_by": ("history_date", "history_id"),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name="LegalHoldCall",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "call",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="calls.call",
                            ),
                        ),
                        (
                            "hold",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="call_links",
                                to="calls.legalhold",
                            ),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="portal.tenant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "dsr_legalholdcall",
                    },
                ),
                migrations.CreateModel(
                    name="LegalHoldNumber",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("number", models.CharField(help_text="E.164", max_length=20)),
                        (
                            "hold",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="numbers",
                                to="calls.legalhold",
                            ),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="portal.tenant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "dsr_legalholdnumber",
                        "ordering": ["id"],
                    },
                ),
                migrations.AddIndex(
                    model_name="legalhold",
                    index=models.Index(
                        fields=["tenant", "released_at", "expires_at"], name="hold_tenant_state"
                    ),
                ),
                migrations.AddIndex(
                    model_name="legalhold",
                    index=models.Index(fields=["released_at", "expires_at"], name="hold_state"),
                ),
                migrations.AddIndex(
                    model_name="legalholdcall",
                    index=models.Index(fields=["tenant", "call"], name="hold_call_lookup"),
                ),
                migrations.AddConstraint(
                    model_name="legalholdcall",
                    constraint=models.UniqueConstraint(
                        fields=("hold", "call"), name="hold_call_unique"
                    ),
                ),
                migrations.AddIndex(
                    model_name="legalholdnumber",
                    index=models.Index(fields=["tenant", "number"], name="hold_number_lookup"),
                ),
                migrations.AddConstraint(
                    model_name="legalholdnumber",
                    constraint=models.UniqueConstraint(
                        fields=("hold", "number"), name="hold_number_unique"
                    ),
                ),
            ],
        ),
    ]
