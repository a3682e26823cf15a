"""Admin access for researchers, and the one admin write path.

Researchers are staff users who see only what they own or collaborate on. They need no Django
model permissions: access is the same owner/collaborator rule the API uses (`studies.selectors`),
so the admin and the API can never disagree.

Admin writes call the same services as the API (`ServiceAdmin`): a service's domain error is
shown as an error message, and the request's writes are rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect

from common.exceptions import DomainError, NotFoundError
from common.permissions import is_researcher


class ResearcherScopedAdmin:
    """Mixin for ModelAdmins whose objects belong to researchers.

    Subclasses implement `scoped_queryset(request)` returning the objects the user may see.
    """

    def scoped_queryset(self, request):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_queryset(self, request):
        return self.scoped_queryset(request)

    def has_module_permission(self, request) -> bool:
        return is_researcher(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_researcher(request.user) and (
            obj is None or self.scoped_queryset(request).filter(pk=obj.pk).exists()
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return is_researcher(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)


class ServiceAdmin:
    """Mixin for ModelAdmins whose saves and deletes call services (`save_model`,
    `save_related`, `save_formset`, `delete_model` overridden to do so).

    Django runs the add/change and delete views in one transaction; a `DomainError` raised by a
    service leaves that transaction (so nothing of the request is saved, inlines included) and
    is shown as an error message on the page the user came from.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path().rsplit("delete/", 1)[0] + "change/")

    def get_deleted_objects(self, objs, request):
        # Whether an object may be deleted, and what goes with it, is the delete service's rule,
        # with its message (the API gives the same one). Django's "cannot delete" page (for
        # protected rows, or related rows whose own admin is read-only) would pre-empt it.
        deleted, counts, _perms_needed, _protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), []

    def delete_queryset(self, request, queryset):
        """The changelist's "delete selected": each object through `delete_model`, so each
        refusal is reported and the others are still deleted."""
        for obj in queryset:
            try:
                self.delete_model(request, obj)
            except DomainError as exc:
                self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)


def service_errors_to_form(form: forms.BaseForm, check: Callable[..., None], **kwargs: Any) -> None:
    """Run a service's `*_check(**kwargs)` from a form's `clean()`: its error becomes a form
    error, on the field it names when the form has that field."""
    try:
        check(**kwargs)
    except DomainError as exc:
        named = [f for f in exc.fields if f in form.fields]
        form.add_error(named[0] if named else None, ValidationError(exc.message))


def get_or_404(getter: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a `*_get` selector from an admin view: NotFoundError becomes Django's 404."""
    try:
        return getter(**kwargs)
    except NotFoundError:
        raise Http404 from None
