"""``Authorization: Api-Key <key>``: resolves the key, its tenant and the acting principal."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from portal.access import TenantInactive
from portal.audit import Actor, set_actor
from portal.services import api_key_authenticate

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _sep, key = header.partition(" ")
        if keyword.lower() != KEYWORD.lower():
            return None
        key = key.strip()
        if not key:
            raise exceptions.AuthenticationFailed(_("The Api-Key header carries no key."))
        try:
            api_key = api_key_authenticate(key)
        except TenantInactive as exc:  # 401: the key no longer opens anything
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("The API key is wrong or has been revoked."))
        # History of changes made through this key: its creator as user, the key as actor.
        set_actor(Actor(user_id=api_key.created_by_id, label=f"api_key:{api_key.prefix}"))
        user = api_key.created_by
        if user is None:
            from django.contrib.auth.models import AnonymousUser

            user = AnonymousUser()
        return (user, api_key)

    def authenticate_header(self, request):
        return KEYWORD
