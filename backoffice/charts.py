"""Small charts drawn on the server as inline SVG: no JavaScript, no chart library, no CDN."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from backoffice.reports import HourRow
from kiosk_project.core.money_format import rupees

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 200, 8, 24, 18


def hourly_bars(rows: list[HourRow]) -> SafeString:
    """Sales by hour as bars (height: rupees), each bar titled with its hour, orders and amount."""
    if not any(row.orders for row in rows):
        return mark_safe('<p class="bo-muted">No paid orders in this period.</p>')
    top = max(row.total for row in rows) or Decimal(1)
    slot = (WIDTH - LEFT) / len(rows)
    usable = HEIGHT - BOTTOM - TOP
    parts = [f'<svg class="bo-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Sales by hour">',
             f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" class="base"/>']
    for i, row in enumerate(rows):
        height = float(row.total / top) * usable
        x, width = LEFT + i * slot + slot * 0.15, slot * 0.7
        y = TOP + usable - height
        title = escape(f"{row.label}: {row.orders} orders, {rupees(row.total)}")
        value = (f'<text x="{x + width / 2:.1f}" y="{y - 4:.1f}" class="value">{row.orders}</text>'
                 if row.orders else "")
        parts.append(f'<g><title>{title}</title><rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                     f'height="{height:.1f}" rx="2" class="bar"/><text x="{x + width / 2:.1f}" y="{HEIGHT - 8}" '
                     f'class="axis">{row.hour:02d}</text>{value}</g>')
    parts.append("</svg>")
    # Every piece above is a number we formatted or text passed through escape().
    return mark_safe("".join(parts))  # noqa: S308
