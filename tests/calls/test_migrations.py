"""Legal holds moved from dsr to calls without losing a row, a permission or a history entry.

The move is state only (the tables keep their ``dsr_*`` names); its content-type step relabels
the rows permissions and object permissions point at. Migrating back and forth over live data
shows both.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from calls.models import LegalHold
from tests.factories import CallFactory, LegalHoldFactory

BEFORE = [("calls", "0004_call_partial_indexes_flagged_restricted")]
AFTER = [("dsr", "0003_legal_holds_to_calls")]


def latest():
    """Every app's latest migration: migrating back to BEFORE also unapplies the migrations
    that came after it in other apps, and later tests need the whole schema back."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    executor.loader.build_graph()
    return executor._create_project_state(with_applied_migrations=True).apps


@pytest.mark.django_db(transaction=True)
def test_holds_their_history_and_permissions_survive_the_move_both_ways():
    call = CallFactory()
    hold = LegalHoldFactory(tenant=call.tenant, calls=[call])
    content_type = ContentType.objects.get(app_label="calls", model="legalhold")
    group = Group.objects.create(name="hold keepers")
    group.permissions.add(Permission.objects.get(codename="add_legalhold"))

    try:
        old = migrate(BEFORE)
        assert old.get_model("dsr", "LegalHold").objects.get(pk=hold.pk).reason == hold.reason
        assert old.get_model("dsr", "LegalHoldCall").objects.get().call_id == call.pk
        assert old.get_model("dsr", "HistoricalLegalHold").objects.filter(id=hold.pk).exists()
        assert ContentType.objects.get(pk=content_type.pk).app_label == "dsr"
    finally:
        migrate(AFTER)
        new = migrate(latest())

    assert new.get_model("calls", "LegalHold").objects.get(pk=hold.pk).reason == hold.reason
    assert LegalHold.objects.get(pk=hold.pk).call_links.get().call_id == call.pk
    assert hold.history.filter(history_change_reason="hold applied").exists()
    assert ContentType.objects.get_for_model(LegalHold).pk == content_type.pk
    assert not ContentType.objects.filter(app_label="dsr", model__contains="legalhold").exists()
    assert group.permissions.get().content_type_id == content_type.pk


@pytest.mark.django_db
def test_old_admin_links_to_holds_redirect_to_calls(client):
    response = client.get("/admin/dsr/legalhold/12/change/?x=1")
    assert response.status_code == 301
    assert response["Location"] == "/admin/calls/legalhold/12/change/?x=1"
