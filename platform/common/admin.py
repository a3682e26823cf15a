"""Researchers' own API tokens in the admin: create (the key is shown once), rotate, revoke.

Each researcher sees only their own tokens, superusers included (`tokens.api_token_list`). The
admin calls the same services as the API (`common.tokens`); there is no edit form: a token's key
cannot be read back, only replaced (rotate) or stopped (revoke).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from common import tokens
from common.admin_mixins import ResearcherScopedAdmin, get_or_404
from common.exceptions import DomainError
from common.models import ApiToken


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]
        labels = {"name": "Name"}


@admin.register(ApiToken)
class ApiTokenAdmin(ResearcherScopedAdmin, admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["name", "key_start", "state", "created_at", "last_used_at"]
    readonly_fields = ["name", "key_start", "state", "created_at", "rotated_at", "last_used_at"]
    actions = ["revoke_selected"]
    change_form_template = "admin/common/apitoken/change_form.html"

    def scoped_queryset(self, request):
        return tokens.api_token_list(user=request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # nothing to edit: rotate or revoke (buttons on the token's page)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked tokens stay listed, so the list shows when a key stopped

    def get_fields(self, request, obj=None):
        return ["name"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    @admin.display(description="key starts with")
    def key_start(self, obj):
        return format_html("<code>{}…</code>", obj.prefix)

    @admin.display(description="state")
    def state(self, obj):
        if obj.revoked_at:
            return f"revoked {obj.revoked_at:%Y-%m-%d %H:%M}"
        return "active"

    def get_urls(self):
        return [
            path(
                "<int:pk>/rotate/",
                self.admin_site.admin_view(self.rotate_view),
                name="common_apitoken_rotate",
            ),
            path(
                "<int:pk>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="common_apitoken_revoke",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        if request.method == "POST" and self.has_add_permission(request):
            form = ApiTokenForm(request.POST)
            if form.is_valid():
                try:
                    token, key = tokens.api_token_create(
                        user=request.user, name=form.cleaned_data["name"]
                    )
                except DomainError as exc:
                    self.message_user(request, exc.message, messages.ERROR)
                else:
                    return self._key_page(request, token, key, created=True)
        return super().add_view(request, form_url, extra_context)

    def rotate_view(self, request, pk: int):
        token = get_or_404(tokens.api_token_get, user=request.user, pk=pk)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            token, key = tokens.api_token_rotate(token=token)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:common_apitoken_change", args=[pk]))
        return self._key_page(request, token, key, created=False)

    def revoke_view(self, request, pk: int):
        token = get_or_404(tokens.api_token_get, user=request.user, pk=pk)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        tokens.api_token_revoke(token=token)
        self.message_user(request, f"Token “{token.name}” revoked.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:common_apitoken_changelist"))

    @admin.action(description="Revoke the selected tokens")
    def revoke_selected(self, request, queryset):
        for token in queryset:
            tokens.api_token_revoke(token=token)
        self.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)

    def _key_page(self, request, token, key: str, *, created: bool):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Token “{token.name}” {'created' if created else 'rotated'}",
            "token": token,
            "key": key,
            "created": created,
            "api_docs": reverse("api-docs"),
        }
        response = TemplateResponse(request, "admin/common/apitoken/key.html", context)
        response["Cache-Control"] = "no-store"  # the key must not stay in a cache
        return response
