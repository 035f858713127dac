"""The legal-holds API: a tenant places, lists and releases its own holds."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from calls.models import ErasureGround, LegalHold
from calls.services.retention.holds import hold_apply, hold_placed_by_platform, hold_release
from portal.api.fields import BoundedDateTimeField
from portal.api.viewsets import TenantViewSet
from portal.models import ApiKey


class HoldCreateSerializer(serializers.Serializer):
    reason_category = serializers.ChoiceField(choices=LegalHold.Category.choices)
    legal_ground = serializers.ChoiceField(
        choices=ErasureGround.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text="The Art. 17(3) exception relied on; by default 17(3)(e) for litigation and "
        "statute of limitations, 17(3)(b) for a regulator. Required for `other`.",
    )
    reason = serializers.CharField(max_length=5000)
    calls = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        min_length=1,
        help_text="Scope: these calls (ids of your calls).",
    )
    numbers = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        allow_empty=False,
        min_length=1,
        help_text="Scope: every call with one of these numbers (any format), including calls "
        "that arrive while the hold lasts.",
    )
    expires_at = BoundedDateTimeField(required=False, allow_null=True, default=None)

    def get_fields(self):
        fields = super().get_fields()
        # `from` and `to` are Python keywords: declared here under their wire names.
        fields["from"] = BoundedDateTimeField(
            required=False,
            allow_null=True,
            help_text="Scope: the tenant's calls that started at or after this moment.",
        )
        fields["to"] = BoundedDateTimeField(
            required=False,
            allow_null=True,
            help_text="End of the period (exclusive); empty for no end.",
        )
        return fields


class HoldReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, help_text="Why the hold is released.")


class HoldSerializer(serializers.ModelSerializer):
    calls = serializers.SerializerMethodField()
    numbers = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    applied_by = serializers.SerializerMethodField()
    placed_by_platform = serializers.SerializerMethodField(
        help_text="Placed by the platform's staff: read-only for the tenant, released only by "
        "the platform (`release` answers 403 `hold_placed_by_platform`)."
    )
    released_by = serializers.SerializerMethodField()

    class Meta:
        model = LegalHold
        fields = [
            "id",
            "reason_category",
            "legal_ground",
            "reason",
            "scope",
            "calls",
            "numbers",
            "period_from",
            "period_to",
            "starts_at",
            "expires_at",
            "state",
            "applied_at",
            "applied_by",
            "placed_by_platform",
            "released_at",
            "released_by",
            "release_reason",
        ]
        read_only_fields = fields

    def get_calls(self, obj) -> list[int]:
        return [link.call_id for link in obj.call_links.all()]

    def get_numbers(self, obj) -> list[str]:
        return [row.number for row in obj.numbers.all()]

    @extend_schema_field(serializers.ChoiceField(["scheduled", "active", "expired", "released"]))
    def get_state(self, obj) -> str:
        return obj.state()

    def _who(self, user, key) -> str | None:
        if key is not None:
            return f"api_key:{key.prefix}"
        return f"user:{user.get_username()}" if user is not None else None

    def get_applied_by(self, obj) -> str | None:
        return self._who(obj.applied_by, obj.applied_by_api_key)

    def get_placed_by_platform(self, obj) -> bool:
        return hold_placed_by_platform(obj)

    def get_released_by(self, obj) -> str | None:
        return self._who(obj.released_by, obj.released_by_api_key)


def _actor(request):
    api_key = request.auth if isinstance(request.auth, ApiKey) else None
    user = request.user if request.user.is_authenticated else None
    return user, api_key


class HoldViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantViewSet
):
    """Legal holds: held calls cannot be erased by anything — an erasure request, the retention
    sweep, a delete — until the hold is released or expires (Art. 17(3))."""

    queryset = LegalHold.objects.select_related(
        "applied_by", "applied_by_api_key", "released_by", "released_by_api_key"
    ).prefetch_related("call_links", "numbers")
    serializer_class = HoldSerializer
    write_role = "admin"

    def _detail(self, hold: LegalHold) -> dict:
        return HoldSerializer(self.get_queryset().get(pk=hold.pk)).data

    @extend_schema(request=HoldCreateSerializer, responses={201: HoldSerializer})
    def create(self, request, *args, **kwargs):
        """Place a hold. Exactly one scope: `calls`, `numbers`, or `from`/`to`."""
        serializer = HoldCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user, api_key = _actor(request)
        hold = hold_apply(
            tenant=request.tenant,
            reason_category=data["reason_category"],
            legal_ground=data.get("legal_ground"),
            reason=data["reason"],
            calls=data.get("calls"),
            numbers=data.get("numbers"),
            period_from=data.get("from"),
            period_to=data.get("to"),
            expires_at=data.get("expires_at"),
            by=user,
            api_key=api_key,
        )
        return Response(self._detail(hold), status=status.HTTP_201_CREATED)

    @extend_schema(request=HoldReleaseSerializer, responses=HoldSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Release a hold (`reason` required). The erasures it deferred resume at once."""
        hold = self.get_object()
        serializer = HoldReleaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, api_key = _actor(request)
        hold_release(
            hold=hold, reason=serializer.validated_data["reason"], by=user, api_key=api_key
        )
        return Response(self._detail(hold))
