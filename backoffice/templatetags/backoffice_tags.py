"""Template helpers of the back office: status badges, raw data as readable JSON, times to the second."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


@register.filter
def badge(label: Any, size: str = "") -> str:
    """A Label (backoffice.labels) as a coloured pill; `|badge:"big"` for the order screen's header."""
    if not label:
        return ""
    extra = " bo-big" if size == "big" else ""
    return format_html('<span class="bo-badge bo-{}{}" title="{}">{}</span>', label.tone, extra,
                       label.code or label.text, label.text)


@register.filter
def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False, sort_keys=True)


@register.filter
def when(value: datetime | None, now: datetime | None = None) -> str:
    """20:31:05 today, "30 Nov 20:31:05" on another day; always to the second."""
    if value is None:
        return "-"
    local = timezone.localtime(value)
    today = timezone.localtime(now or timezone.now()).date()
    return f"{local:%H:%M:%S}" if local.date() == today else f"{local:%d %b %H:%M:%S}"


@register.filter
def age(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
