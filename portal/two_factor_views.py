"""The staff second-factor pages: enrolment on the first login, then a code at every login."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from portal import two_factor
from portal.errors import BusinessRuleError


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/admin/"


def _context(request, **extra):
    return {**admin.site.each_context(request), "next": _next_url(request), **extra}


def _staff_only(view):
    """Logged-in staff only (others have no second factor here); the admin's login first."""

    @never_cache
    @sensitive_post_parameters("code")
    @login_required(login_url="/admin/login/")
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            return redirect("dashboard:home")
        return view(request, *args, **kwargs)

    wrapped.__doc__ = view.__doc__
    return wrapped


@_staff_only
def second_factor(request):
    """Ask for the code of the authenticator app, or a recovery code."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    if two_factor.confirmed_device(request.user) is None:
        return redirect(f"/admin/second-factor/enrol/?{request.GET.urlencode()}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.verify(request=request, code=form.cleaned_data["code"]):
            return redirect(_next_url(request))
        form.add_error(
            "code",
            "That code is not right (or was used already). Wait for the next code, or use one "
            "of your recovery codes.",
        )
    return render(
        request,
        "admin/second_factor.html",
        _context(request, form=form, title="Second factor"),
    )


@_staff_only
def second_factor_enrol(request):
    """First login: set up an authenticator app; show the recovery codes once."""
    if two_factor.confirmed_device(request.user) is not None:
        return redirect(f"/admin/second-factor/?{request.GET.urlencode()}")
    device = two_factor.pending_device(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.enrolment_confirm(
                request=request, device=device, code=form.cleaned_data["code"]
            )
        except BusinessRuleError as exc:
            form.add_error("code", exc.message)
        else:
            return render(
                request,
                "admin/second_factor_codes.html",
                _context(request, codes=codes, title="Your recovery codes"),
            )
    return render(
        request,
        "admin/second_factor_enrol.html",
        _context(
            request,
            form=form,
            title="Set up your second factor",
            qr_svg=two_factor.qr_code_svg(device),
            secret=two_factor.secret_base32(device),
        ),
    )
