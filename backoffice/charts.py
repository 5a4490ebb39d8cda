"""Small charts drawn on the server as inline SVG: no JavaScript, no chart library, no CDN."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from backoffice.reports import HourRow
from kiosk_project.core.money_format import rupees

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 200, 8, 24, 18


def hourly_bars(rows: list[HourRow]) -> SafeString:
    """Sales by hour as bars (height: rupees), each bar titled with its hour, orders and amount."""
    if not any(row.orders for row in rows):
        return mark_safe('<p class="bo-muted">No paid orders in this period.</p>')  # noqa: S308 (a constant)
    top = max(row.total for row in rows) or Decimal(1)
    slot = (WIDTH - LEFT) / len(rows)
    usable = HEIGHT - BOTTOM - TOP
    bars = []
    for i, row in enumerate(rows):
        height = float(row.total / top) * usable
        x = LEFT + i * slot + slot * 0.15
        y = TOP + usable - height
        bars.append((x, y, slot * 0.7, height, row))
    shapes = format_html_join(
        "", '<g><title>{} — {} orders, {}</title><rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" '
            'rx="2" class="bar"/><text x="{:.1f}" y="{}" class="axis">{}</text>{}</g>',
        ((row.label, row.orders, rupees(row.total), x, y, w, h, x + w / 2, HEIGHT - 8, f"{row.hour:02d}",
          format_html('<text x="{:.1f}" y="{:.1f}" class="value">{}</text>', x + w / 2, y - 4, row.orders)
          if row.orders else "")
         for x, y, w, h, row in bars))
    return format_html(
        '<svg class="bo-chart" viewBox="0 0 {} {}" role="img" aria-label="Sales by hour">'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="base"/>{}</svg>',
        WIDTH, HEIGHT, LEFT, HEIGHT - BOTTOM, WIDTH, HEIGHT - BOTTOM, shapes)
