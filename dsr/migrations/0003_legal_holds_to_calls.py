"""Legal holds now belong to calls: drop them from this app's state (the tables stay, named
``dsr_*``, owned by ``calls.0005_legal_holds_from_dsr``), and move their content types to
``calls`` so permissions, object permissions and history links keep pointing at them."""

from django.db import migrations

MOVED = (
    "legalhold",
    "legalholdcall",
    "legalholdnumber",
    "historicallegalhold",
    "historicallegalholdcall",
    "historicallegalholdnumber",
)


def _relabel(apps, schema_editor, source: str, target: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    rows = content_type.objects.using(schema_editor.connection.alias)
    for model in MOVED:
        old = rows.filter(app_label=source, model=model).first()
        if old is None:
            continue
        rows.filter(app_label=target, model=model).delete()  # an empty one made in between
        old.app_label = target
        old.save(update_fields=["app_label"])


def content_types_to_calls(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, "dsr", "calls")


def content_types_to_dsr(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, "calls", "dsr")


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0005_legal_holds_from_dsr"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("dsr", "0002_legal_holds_and_erasure"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name="historicallegalholdcall",
                    name="call",
                ),
                migrations.RemoveField(
                    model_name="historicallegalholdcall",
                    name="history_user",
                ),
                migrations.RemoveField(
                    model_name="historicallegalholdcall",
                    name="hold",
                ),
                migrations.RemoveField(
                    model_name="historicallegalholdcall",
                    name="tenant",
                ),
                migrations.RemoveField(
                    model_name="historicallegalholdnumber",
                    name="history_user",
                ),
                migrations.RemoveField(
                    model_name="historicallegalholdnumber",
                    name="hold",
                ),
                migrations.RemoveField(
                    model_name="historicallegalholdnumber",
                    name="tenant",
                ),
                migrations.RemoveField(
                    model_name="legalhold",
                    name="applied_by",
                ),
                migrations.RemoveField(
                    model_name="legalhold",
                    name="applied_by_api_key",
                ),
                migrations.RemoveField(
                    model_name="legalhold",
                    name="released_by",
                ),
                migrations.RemoveField(
                    model_name="legalhold",
                    name="released_by_api_key",
                ),
                migrations.RemoveField(
                    model_name="legalhold",
                    name="tenant",
                ),
                migrations.RemoveField(
                    model_name="legalholdnumber",
                    name="hold",
                ),
                migrations.RemoveField(
                    model_name="legalholdcall",
                    name="hold",
                ),
                migrations.RemoveField(
                    model_name="legalholdcall",
                    name="call",
                ),
                migrations.RemoveField(
                    model_name="legalholdcall",
                    name="tenant",
                ),
                migrations.RemoveField(
                    model_name="legalholdnumber",
                    name="tenant",
                ),
                migrations.DeleteModel(
                    name="HistoricalLegalHold",
                ),
                migrations.DeleteModel(
                    name="HistoricalLegalHoldCall",
                ),
                migrations.DeleteModel(
                    name="HistoricalLegalHoldNumber",
                ),
                migrations.DeleteModel(
                    name="LegalHold",
                ),
                migrations.DeleteModel(
                    name="LegalHoldCall",
                ),
                migrations.DeleteModel(
                    name="LegalHoldNumber",
                ),
            ],
        ),
        migrations.RunPython(content_types_to_calls, content_types_to_dsr),
    ]
