"""Who may use the researcher API.

Researchers are active staff users (superusers included). Object access (owner or collaborator)
is enforced by the selectors, which return 404 for objects the user may not see so that ids do
not leak.
"""

from rest_framework.permissions import BasePermission


def is_researcher(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class IsResearcher(BasePermission):
    message = "This endpoint is for researchers (staff accounts)."

    def has_permission(self, request, view) -> bool:
        return is_researcher(request.user)
