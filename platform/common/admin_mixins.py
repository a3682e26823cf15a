"""Admin access for researchers: staff users who see only what they own or collaborate on.

Researchers need no Django model permissions: access is the same owner/collaborator rule the API
uses (`studies.selectors`), so the admin and the API can never disagree.
"""

from __future__ import annotations

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
