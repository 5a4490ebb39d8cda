"""What the back office remembers of its own: which problems were already emailed to a person."""

from __future__ import annotations

from django.db import models


class ProblemNotice(models.Model):
    """One row per problem ever noticed (its key is unique), so each is emailed at most once.

    The row is written before the email is sent (the claim); a send that fails
    clears `claimed_at` so the next run tries again, and `emailed_at` is set once
    the mail server took it. A crash between the two leaves the row claimed and
    never re-sent: at most one email per problem, as promised.
    """

    key = models.CharField(max_length=128, help_text="kind:object id, e.g. kitchen_late:<order id>")
    kind = models.CharField(max_length=32)
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="problem_notices")
    branch_code = models.CharField(max_length=64)
    summary = models.CharField(max_length=255)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.TextField(blank=True, default="")
    last_error = models.CharField(max_length=255, blank=True, default="")
    handled_at = models.DateTimeField(null=True, blank=True, help_text="Marked handled by a manager.")
    handled_by = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        verbose_name = "problem alert"
        ordering = ["-first_seen_at"]
        constraints = [models.UniqueConstraint(fields=["key"], name="problem_notice_key_unique")]
        permissions = [
            ("receive_alerts", "Receives emails about orders that need attention"),
            ("handle_problems", "Can mark a problem as handled"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({'emailed' if self.emailed_at else 'not emailed'})"
