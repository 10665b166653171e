"""The column of text boxes beside the 3-D view (title, legend, readouts), laid out as a flow
that wraps to the room it has."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


def flow_rects(images, wrap_width: int = 0) -> list[QtCore.QRect]:
    """Rectangles for pictures stacked top to bottom, or (`wrap_width` > 0) placed side by
    side while they fit that width, then on the next row."""
    out, x, y, row_h = [], 4, 6, 0
    for img in images:
        if wrap_width and x > 4 and x + img.width() > wrap_width:
            x, y, row_h = 4, y + row_h + 6, 0
        out.append(QtCore.QRect(x, y, img.width(), img.height()))
        if wrap_width:
            x += img.width() + 8
            row_h = max(row_h, img.height())
        else:
            y += img.height() + 6
    return out


def flow_size(images, wrap_width: int = 0) -> QtCore.QSize:
    rects = flow_rects(images, wrap_width)
    if not rects:
        return QtCore.QSize(0, 0)
    return QtCore.QSize(max(r.right() for r in rects) + 5, max(r.bottom() for r in rects) + 7)


def arrange(w: int, h: int, one: list, under: list, legend_at: int | None = None
            ) -> tuple[str, list, list]:
    """(how, pictures, pictures below) for text boxes around a w x h picture: `one` stacked
    in a column beside it ("beside"), `under` flowed under it ("under"), or, given the
    legend's index `legend_at` (on screen), the legend under it and the rest beside
    ("mixed"): whichever leaves the larger square for the cube."""
    options = [(min(w - flow_size(one).width(), h), "beside", one, []),
               (min(w, h - flow_size(under, w).height()), "under", under, [])]
    if legend_at is not None and len(one) > legend_at + 1:
        legend, rest = [under[legend_at]], one[:legend_at] + one[legend_at + 1:]
        options.append((min(w - flow_size(rest).width(), h - flow_size(legend, w).height()),
                        "mixed", rest, legend))
    _room, how, images, below = max(options, key=lambda o: o[0])
    return how, images, below


class ChromeColumn(QtWidgets.QWidget):
    """The 3-D view's title, legend and readouts as the same pictures the exported frame
    shows, stacked in a widget beside or under the GL picture (painted over it, the
    legend covered the cube)."""

    def __init__(self):
        super().__init__()
        self.images: list[QtGui.QImage] = []
        self.images_source = None    # the list last given, to skip unchanged updates
        self.wrap_width = 0          # 0: one column; else the width to fill row by row
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Fixed)

    def set_images(self, images) -> None:
        self.images = list(images)
        self.setVisible(bool(self.images))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QtCore.QSize:
        return flow_size(self.images, self.wrap_width)

    def minimumSizeHint(self) -> QtCore.QSize:
        return self.sizeHint()

    def box_rects(self) -> list[QtCore.QRect]:
        """Where each picture is drawn, in this widget's coordinates."""
        return flow_rects(self.images, self.wrap_width)

    def set_wrap_width(self, width: int) -> None:
        if width != self.wrap_width:
            self.wrap_width = width
            self.updateGeometry()
            self.update()

    def paintEvent(self, ev) -> None:
        p = QtGui.QPainter(self)
        try:
            for img, r in zip(self.images, self.box_rects()):
                p.drawImage(r.topLeft(), img)
        finally:
            p.end()
