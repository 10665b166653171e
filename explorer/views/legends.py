"""Legends of the plot views: made, styled, fitted into columns or under a plot, renamed,
measured; and the swatches their entries use."""

from __future__ import annotations

import pyqtgraph as pg

from .common import PANEL_FILL, delete_items
from .style import FOREGROUND, SCREEN, ViewStyle


def make_legend(style: ViewStyle = SCREEN, columns: int = 1, framed: bool = True) -> pg.LegendItem:
    legend = pg.LegendItem(
        labelTextColor=FOREGROUND, labelTextSize=f"{style.font_pt}pt", colCount=columns,
        pen=pg.mkPen(90, 90, 100) if framed else None,
        brush=pg.mkBrush(*PANEL_FILL) if framed else None, horSpacing=18)
    return legend


def clear_legend(legend: pg.LegendItem) -> None:
    """`legend.clear()`, its entries deleted now. pyqtgraph takes them out of the scene,
    which leaves each label and its text item to Python: freed by the cyclic collector in
    the wrong order, the text item would be freed twice (a segfault); deleted here, Qt
    deletes the text item with its label and the wrappers are told."""
    entries = [item for pair in legend.items for item in pair]
    legend.clear()
    delete_items(entries)


def remove_legend_entry(legend: pg.LegendItem, item) -> None:
    """`legend.removeItem(item)`, the entry deleted now (see `clear_legend`)."""
    entry = [x for pair in legend.items if pair[0].item is item for x in pair]
    legend.removeItem(item)
    delete_items(entry)


def style_legend(legend: pg.LegendItem, style: ViewStyle) -> None:
    legend.setLabelTextSize(f"{style.font_pt}pt")
    for _sample, label in legend.items:
        label.setText(label.text, size=f"{style.font_pt}pt", color=FOREGROUND)
    legend.updateSize()


def fit_legend_columns(legend: pg.LegendItem, width: float) -> None:
    """As many columns of legend entries as fit `width` (fewest rows, most room for the
    plot), else one: a legend wider than its view pushes the layout past the view's edge,
    where it is cut off."""
    for columns in range(max(len(legend.items), 1), 0, -1):
        legend.setColumnCount(columns)
        legend.updateSize()
        # the layout's margins and spacing and the legend's frame take ~40 px of `width`
        if columns == 1 or legend_size(legend)[0] <= width - 40:
            return


def legend_under_plot(widget, legend: pg.LegendItem) -> None:
    """The legend in row 1 of `widget`'s layout, under its plot, in as many columns as the
    widget's width takes (LegendItem.updateSize moves it to the scene's corner, so it goes
    back into its layout cell each time)."""
    fit_legend_columns(legend, widget.width())
    widget.ci.removeItem(legend)
    widget.addItem(legend, 1, 0)


def rename_legend_entry(legend: pg.LegendItem, index: int, name: str,
                        style: ViewStyle = SCREEN) -> None:
    """A new text for entry `index` (the density's, when the slider picks p_σ)."""
    if index < len(legend.items):
        legend.items[index][1].setText(name, size=f"{style.font_pt}pt", color=FOREGROUND)
        legend.updateSize()


def legend_size(legend: pg.LegendItem) -> tuple[float, float]:
    """The legend's own size (its rectangle stretches with the layout cell it is in)."""
    m = legend.layout.minimumSize()
    return m.width(), m.height()


def legend_names(legend: pg.LegendItem) -> list[str]:
    return [label.text for _sample, label in legend.items]


def swatch(color, symbol: str = "s", size: float = 12) -> pg.BarGraphItem:
    """A stand-in item that only provides a legend sample: a filled square of `color`
    (an empty BarGraphItem: the legend draws its brush; nothing is drawn in the plot)."""
    return pg.BarGraphItem(x=[], height=[], width=1, brush=pg.mkBrush(*color[:3]), pen=None)


def line_swatch(color, width: float = 2.0, alpha: int = 255, style=None) -> pg.PlotDataItem:
    pen = pg.mkPen((*color[:3], alpha), width=width)
    if style is not None:
        pen.setStyle(style)
    return pg.PlotDataItem([], [], pen=pen)
