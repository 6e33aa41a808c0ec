package dashboard

import (
	"fmt"
	"strings"
)

// Size of a chart, in SVG user units (pixels).
const (
	chartWidth  = 240
	chartHeight = 48
)

// chart is one small line chart of a series, drawn as inline SVG.
type chart struct {
	Title  string
	Last   string // the value of the slot in progress
	Max    string // the top of the chart
	Points string // the polyline's points, "x,y x,y ..."
	Width  int
	Height int
}

// newChart draws values (oldest first) scaled to their maximum.
func newChart(title string, values []float64, format func(float64) string) chart {
	c := chart{Title: title, Width: chartWidth, Height: chartHeight}
	top := 0.0
	for _, v := range values {
		top = max(top, v)
	}
	var b strings.Builder
	n := len(values)
	for i, v := range values {
		x := 0.0
		if n > 1 {
			x = float64(i) * chartWidth / float64(n-1)
		}
		y := float64(chartHeight - 1)
		if top > 0 {
			y = 1 + (1-v/top)*float64(chartHeight-2)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", x, y)
	}
	c.Points = b.String()
	c.Max = format(top)
	if n > 0 {
		c.Last = format(values[n-1])
	}
	return c
}
