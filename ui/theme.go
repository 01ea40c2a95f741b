package ui

import "image/color"

// previewBackground frames the picture like a monitor, in any theme.
var previewBackground = color.NRGBA{R: 0x10, G: 0x10, B: 0x14, A: 0xff}
