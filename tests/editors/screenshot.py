"""A terminal screen (``tmux capture-pane -e``: text with SGR colour escapes) drawn to a PNG."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BACKGROUND = (30, 30, 46)
FOREGROUND = (205, 214, 244)
BASIC = [
    (69, 71, 90), (243, 139, 168), (166, 227, 161), (249, 226, 175),
    (137, 180, 250), (245, 194, 231), (148, 226, 213), (186, 194, 222),
]  # fmt: skip
BRIGHT = [
    (88, 91, 112), (243, 139, 168), (166, 227, 161), (249, 226, 175),
    (137, 180, 250), (245, 194, 231), (148, 226, 213), (166, 173, 200),
]  # fmt: skip
SGR = re.compile(r"\x1b\[([0-9;]*)m")

Colour = tuple[int, int, int]


def xterm_256(index: int) -> Colour:
    if index < 8:
        return BASIC[index]
    if index < 16:
        return BRIGHT[index - 8]
    if index < 232:
        index -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[index // 36], steps[index // 6 % 6], steps[index % 6])
    level = 8 + 10 * (index - 232)
    return (level, level, level)


class Pen:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.fg: Colour = FOREGROUND
        self.bg: Colour = BACKGROUND
        self.reverse = False

    def apply(self, codes: list[int]) -> None:
        while codes:
            code = codes.pop(0)
            if code == 0:
                self.reset()
            elif code == 7:
                self.reverse = True
            elif code == 27:
                self.reverse = False
            elif 30 <= code <= 37:
                self.fg = BASIC[code - 30]
            elif 90 <= code <= 97:
                self.fg = BRIGHT[code - 90]
            elif 40 <= code <= 47:
                self.bg = BASIC[code - 40]
            elif 100 <= code <= 107:
                self.bg = BRIGHT[code - 100]
            elif code == 39:
                self.fg = FOREGROUND
            elif code == 49:
                self.bg = BACKGROUND
            elif code in (38, 48) and codes:
                colour = self._extended(codes)
                if code == 38:
                    self.fg = colour
                else:
                    self.bg = colour

    @staticmethod
    def _extended(codes: list[int]) -> Colour:
        mode = codes.pop(0)
        if mode == 5 and codes:
            return xterm_256(codes.pop(0))
        if mode == 2 and len(codes) >= 3:
            red, green, blue = codes.pop(0), codes.pop(0), codes.pop(0)
            return (red, green, blue)
        return FOREGROUND

    def colours(self) -> tuple[Colour, Colour]:
        return (self.bg, self.fg) if self.reverse else (self.fg, self.bg)


def render(screen: str, output: Path, size: int = 15) -> None:
    font = ImageFont.truetype(FONT, size)
    cell_w = round(font.getlength("M"))
    cell_h = round(size * 1.35)
    lines = screen.rstrip("\n").split("\n")
    columns = max(len(SGR.sub("", line)) for line in lines)
    image = Image.new("RGB", (columns * cell_w + 24, len(lines) * cell_h + 24), BACKGROUND)
    draw = ImageDraw.Draw(image)
    pen = Pen()
    for row, line in enumerate(lines):
        column = 0
        for index, piece in enumerate(SGR.split(line)):
            if index % 2:
                pen.apply([int(code or 0) for code in piece.split(";")])
                continue
            fg, bg = pen.colours()
            x, y = 12 + column * cell_w, 12 + row * cell_h
            draw.rectangle([x, y, x + len(piece) * cell_w, y + cell_h], fill=bg)
            draw.text((x, y), piece, font=font, fill=fg)
            column += len(piece)
    output.parent.mkdir(parents=True, exist_ok=True)
    image.save(output)
