from django.db import models


class CatalogSnapshot(models.Model):
    """The last catalog Rista gave us that passed validation, per branch and channel.

    It keeps the menu on screen through a Rista and Redis outage. The body is
    stored as the exact bytes served, so its ETag stays valid.
    """

    branch_code = models.CharField(max_length=64)
    channel = models.CharField(max_length=128)
    body = models.BinaryField()
    etag = models.CharField(max_length=80)
    item_count = models.PositiveIntegerField(default=0)
    fetched_at = models.DateTimeField(help_text="When Rista last confirmed this content.")
    changed_at = models.DateTimeField(help_text="When the content last changed.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["branch_code", "channel"], name="catalog_snapshot_unique")]

    def __str__(self) -> str:
        return f"{self.branch_code}/{self.channel} ({self.item_count} items)"
