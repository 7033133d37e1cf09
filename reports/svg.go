package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/faultbook/faultbook/harness/result"
)

// The charts are computed here as plain geometry and drawn by the HTML template,
// so that every label goes through html/template's escaping and no markup is
// ever built from strings. Sizes are in SVG user units; the SVGs scale to the
// page width through their viewBox.

const (
	chartWidth  = 960.0
	trackHeight = 20.0 // one row of task bars
	barHeight   = 15.0
	lanePad     = 5.0
	labelRow    = 15.0 // one row of marker labels above the lanes
	axisHeight  = 26.0
	charWidth   = 6.3 // rough width of one character at the chart font size
)

// svgTimeline is a Timeline laid out for drawing.
type svgTimeline struct {
	ID          string // unique in the page, prefixes pattern ids
	Scenario    string // the scenario and cell it belongs to, as data attributes for tools
	Cell        string
	Caption     string
	Height      float64
	PlotX       float64
	PlotW       float64
	PlotRight   float64
	PlotTop     float64
	PlotBottom  float64
	Lanes       []svgLane
	Bands       []svgBand
	Markers     []svgMarker
	Ticks       []svgTick
	AxisY       float64
	Description string // for screen readers: what the chart shows in words
}

type svgLane struct {
	ID, Label string
	Y, H      float64
	LabelY    float64
	Shaded    bool
	Tasks     []svgTask
	// Ended: the executor process died at EndX; the lane is greyed after it
	// and its end labelled with the exit status.
	Ended              bool
	EndX, EndW, Bottom float64
	EndLabel           string
	// EndAnchor and EndDX keep the label inside the plot: after the end line,
	// or before it when the end is near the right edge.
	EndAnchor string
	EndDX     float64
}

type svgTask struct {
	X, Y, W, H     float64
	Class          string // "success", "failed", "killed" or "other"
	Label          string
	ShowLabel      bool
	LabelX, LabelY float64
	Title          string
}

type svgBand struct {
	X, W, Y, H     float64
	Kind           string
	Title          string
	Label          string
	LabelX, LabelY float64
	Anchor         string
}

type svgMarker struct {
	X, Y1, Y2      float64
	Kind           string
	Icon           string
	Label          string
	LabelX, LabelY float64
	Anchor         string // text-anchor of the label
	OnLane         bool   // the marker concerns one executor: its icon is drawn on that lane
	IconY          float64
}

type svgTick struct {
	X     float64
	Label string
}

// markerIcons mark each kind with a shape as well as a colour.
var markerIcons = []struct{ kind, icon string }{
	{"executor-lost", "✕"}, {"excluded", "⊘"}, {"safeguard", "⚑"}, {"abort", "■"}, {"fault", "⚡"},
}

func markerIcon(kind string) string {
	for _, m := range markerIcons {
		if m.kind == kind {
			return m.icon
		}
	}
	return "•"
}

// layoutTimeline places lanes, tasks, fault bands and markers.
func layoutTimeline(id, caption string, tl *result.Timeline) *svgTimeline {
	out := &svgTimeline{ID: id, Caption: caption}
	lanes := slices.Clone(tl.Lanes)
	for _, t := range tl.Tasks { // tasks on an executor the lanes do not list still get a row
		if !slices.ContainsFunc(lanes, func(l result.Lane) bool { return l.ID == t.Lane }) {
			lanes = append(lanes, result.Lane{ID: t.Lane})
		}
	}
	longest := 0
	for _, l := range lanes {
		longest = max(longest, len([]rune(laneLabel(l))))
	}
	out.PlotX = math.Round(float64(longest)*charWidth + 18)
	out.PlotW = chartWidth - out.PlotX - 12
	out.PlotRight = out.PlotX + out.PlotW

	end := float64(max(tl.DurationMs, 1))
	for _, t := range tl.Tasks {
		end = max(end, float64(t.EndMs))
	}
	for _, m := range tl.Markers {
		end = max(end, float64(m.AtMs))
	}
	for _, b := range tl.Bands {
		end = max(end, float64(b.ToMs))
	}
	x := func(ms int64) float64 { return out.PlotX + float64(max(ms, 0))/end*out.PlotW }

	var xs []float64
	var texts []string
	for _, m := range tl.Markers {
		xs, texts = append(xs, x(m.AtMs)), append(texts, markerIcon(m.Kind)+" "+m.Label)
	}
	for _, b := range tl.Bands {
		xs, texts = append(xs, x(b.FromMs)), append(texts, "▨ "+b.Label)
	}
	labels, rows := placeLabels(xs, texts)
	out.PlotTop = float64(rows)*labelRow + 8
	y := out.PlotTop
	for i, l := range lanes {
		tracks := packTracks(tl.Tasks, l.ID)
		n := 1
		for _, tr := range tracks {
			n = max(n, tr+1)
		}
		h := float64(n)*trackHeight + 2*lanePad
		lane := svgLane{ID: l.ID, Label: laneLabel(l), Y: y, H: h, LabelY: y + h/2 + 4, Shaded: i%2 == 0}
		if l.EndMs != nil {
			lane.Ended, lane.EndX, lane.EndLabel, lane.Bottom = true, x(*l.EndMs), "† "+l.Exit, y+h
			lane.EndW = max(out.PlotRight-lane.EndX, 0)
			lane.EndAnchor, lane.EndDX = "start", 4
			if float64(len([]rune(lane.EndLabel)))*charWidth+8 > lane.EndW {
				lane.EndAnchor, lane.EndDX = "end", -4
			}
		}
		for ti, t := range tl.Tasks {
			if t.Lane != l.ID {
				continue
			}
			lane.Tasks = append(lane.Tasks, layoutTask(t, x, y+lanePad+float64(tracks[ti])*trackHeight))
		}
		out.Lanes = append(out.Lanes, lane)
		y += h
	}
	out.PlotBottom = y
	for i, b := range tl.Bands {
		x0, x1 := x(b.FromMs), x(b.ToMs)
		l := labels[len(tl.Markers)+i]
		by, bh := out.PlotTop, y-out.PlotTop
		if len(b.Lanes) > 0 {
			by, bh = bandRows(out.Lanes, b.Lanes, by, bh)
		}
		out.Bands = append(out.Bands, svgBand{X: x0, W: max(x1-x0, 1), Y: by, H: bh,
			Kind: cssWord(b.Kind), Label: l.Text, LabelX: l.TextX, LabelY: l.Y, Anchor: l.Anchor,
			Title: fmt.Sprintf("%s %s–%s: %s", b.Kind, formatMs(b.FromMs), formatMs(b.ToMs), b.Label)})
	}
	for i, m := range tl.Markers {
		l := labels[i]
		sm := svgMarker{X: l.X, Kind: cssWord(m.Kind), Icon: markerIcon(m.Kind), Label: l.Text,
			LabelX: l.TextX, LabelY: l.Y, Anchor: l.Anchor}
		sm.Y1, sm.Y2 = sm.LabelY+4, y
		for _, l := range out.Lanes {
			if m.Lane != "" && l.ID == m.Lane {
				sm.Y2, sm.OnLane, sm.IconY = l.Y+l.H, true, l.Y+l.H/2+4
			}
		}
		out.Markers = append(out.Markers, sm)
	}
	out.AxisY = y
	out.Ticks = ticks(end, x)
	out.Height = y + axisHeight
	out.Description = describeTimeline(tl, lanes)
	return out
}

// bandRows is the vertical span of the given lanes (a node's executors,
// which lie next to each other); the whole plot when none is drawn.
func bandRows(lanes []svgLane, ids []string, y, h float64) (float64, float64) {
	top, bottom := math.Inf(1), math.Inf(-1)
	for _, l := range lanes {
		if slices.Contains(ids, l.ID) {
			top, bottom = min(top, l.Y), max(bottom, l.Y+l.H)
		}
	}
	if top > bottom {
		return y, h
	}
	return top, bottom - top
}

func laneLabel(l result.Lane) string {
	var in []string
	if l.Node != "" {
		in = append(in, l.Node)
	}
	if l.Replaces != "" {
		in = append(in, "↻ "+l.Replaces)
	}
	if len(in) == 0 {
		return l.ID
	}
	return fmt.Sprintf("%s (%s)", l.ID, strings.Join(in, ", "))
}

// packTracks gives each task of a lane the first row where it does not overlap
// the previous bar, so concurrent tasks on one executor stay visible. The
// result is indexed like tasks; tasks of other lanes get -1.
func packTracks(tasks []result.TaskBar, lane string) []int {
	idx := []int{}
	for i, t := range tasks {
		if t.Lane == lane {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(tasks[a].StartMs - tasks[b].StartMs) })
	out := make([]int, len(tasks))
	for i := range out {
		out[i] = -1
	}
	var ends []int64
	for _, i := range idx {
		t := tasks[i]
		track := slices.IndexFunc(ends, func(e int64) bool { return e <= t.StartMs })
		if track < 0 {
			ends = append(ends, 0)
			track = len(ends) - 1
		}
		ends[track] = max(t.EndMs, t.StartMs+1)
		out[i] = track
	}
	return out
}

func layoutTask(t result.TaskBar, x func(int64) float64, y float64) svgTask {
	x0, x1 := x(t.StartMs), x(t.EndMs)
	st := svgTask{X: x0, Y: y, W: max(x1-x0, 2), H: barHeight, Class: taskClass(t.Outcome)}
	st.Label = fmt.Sprintf("%s/%d.%d", t.Stage, t.Task, t.Attempt)
	st.ShowLabel = st.W >= float64(len(st.Label))*charWidth+6
	st.LabelX, st.LabelY = x0+3, y+barHeight-4
	st.Title = fmt.Sprintf("task %d.%d in stage %s (TID %d): %s, %s–%s", t.Task, t.Attempt, t.Stage, t.TID,
		t.Outcome, formatMs(t.StartMs), formatMs(t.EndMs))
	if t.Reason != "" {
		st.Title += ": " + t.Reason
	}
	return st
}

func taskClass(outcome string) string {
	switch outcome {
	case "success", "failed", "killed":
		return outcome
	}
	return "other"
}

// label is a piece of text above the lanes, tied to an instant.
type label struct {
	X, Y   float64 // Y is the baseline
	TextX  float64
	Anchor string
	Text   string
}

// placeLabels puts each label in the first row above the lanes where it does
// not overlap another, so close events stay legible. It returns the labels in
// the order given and the number of rows used.
func placeLabels(xs []float64, texts []string) ([]label, int) {
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(xs[a], xs[b]) })
	out := make([]label, len(xs))
	var rowEnds []float64 // right edge of the last label in each row
	for _, i := range order {
		l := label{X: xs[i], Text: texts[i], Anchor: "start", TextX: xs[i] + 3}
		w := float64(len([]rune(l.Text)))*charWidth + 4
		left, right := l.TextX, l.TextX+w
		if right > chartWidth-4 { // no room to the right: hang the label left of the line
			l.Anchor, l.TextX = "end", l.X-3
			left, right = l.X-3-w, l.X-3
		}
		row := slices.IndexFunc(rowEnds, func(e float64) bool { return e < left-6 })
		if row < 0 {
			rowEnds = append(rowEnds, 0)
			row = len(rowEnds) - 1
		}
		rowEnds[row] = right
		l.Y = float64(row)*labelRow + 12
		out[i] = l
	}
	return out, len(rowEnds)
}

// ticks picks a round step (1, 2 or 5 × 10ⁿ ms) giving about eight ticks.
func ticks(end float64, x func(int64) float64) []svgTick {
	step := math.Inf(1)
	for _, m := range []float64{1, 2, 5} {
		for p := 1.0; p < 1e10; p *= 10 {
			if s := m * p; end/s <= 8 && s < step {
				step = s
			}
		}
	}
	var out []svgTick
	for t := 0.0; t <= end+0.5; t += step {
		out = append(out, svgTick{X: x(int64(t)), Label: formatMs(int64(t))})
	}
	return out
}

func describeTimeline(tl *result.Timeline, lanes []result.Lane) string {
	var failed, killed int
	for _, t := range tl.Tasks {
		switch t.Outcome {
		case "failed":
			failed++
		case "killed":
			killed++
		}
	}
	parts := []string{fmt.Sprintf("%d executors, %d task attempts (%d failed, %d killed) over %s",
		len(lanes), len(tl.Tasks), failed, killed, formatMs(tl.DurationMs))}
	for _, l := range lanes {
		if l.EndMs != nil {
			parts = append(parts, fmt.Sprintf("%s ended at %s: %s", l.ID, formatMs(*l.EndMs), l.Exit))
		}
	}
	for _, m := range tl.Markers {
		parts = append(parts, fmt.Sprintf("%s at %s: %s", m.Kind, formatMs(m.AtMs), m.Label))
	}
	return strings.Join(parts, "; ")
}

// cssWord keeps a value usable as a class name: letters, digits and dashes.
func cssWord(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}

// svgBatches is the chart of a streaming job's batches: scheduling delay,
// processing time and checkpoint time side by side for each batch, the batch
// interval as a line, the store's requests and the faults applied to them
// under each batch, and the store's burst-credit balance when it has one.
type svgBatches struct {
	ID          string
	Height      float64
	PlotX       float64
	BaseY       float64
	Bars        []svgBar
	YTicks      []svgTick // X holds the y coordinate
	Labels      []svgTick // batch numbers under the bars
	Notes       []svgTick // store requests under the batch numbers
	Faults      []svgTick // faults applied to them, under those
	Marks       []svgTick // ↻ restarted driver, ⚑ safeguard, above the bars
	PlotRight   float64
	IntervalY   float64 // 0: no interval line
	Credits     string  // polyline points of the credit balance, "" for none
	CreditTicks []svgTick
	Description string
}

type svgBar struct {
	X, Y, W, H float64
	Class      string // "delay", "processing" or "checkpoint"
	Title      string
}

func layoutBatches(id string, batches []result.Batch) *svgBatches {
	const height, top, bottom, plotX = 200.0, 22.0, 58.0, 64.0
	out := &svgBatches{ID: id, Height: height, PlotX: plotX, PlotRight: chartWidth - 64, BaseY: height - bottom}
	var peak int64 = 1
	var interval int64
	var credits []float64
	for _, b := range batches {
		peak = max(peak, b.DelayMs, b.CheckpointMs, b.ProcessingMs, b.IntervalMs)
		interval = max(interval, b.IntervalMs)
		if b.CreditsKiB != nil {
			credits = append(credits, *b.CreditsKiB)
		}
	}
	top1 := niceCeil(float64(peak))
	y := func(ms float64) float64 { return out.BaseY - ms/top1*(out.BaseY-top) }
	slot := (out.PlotRight - plotX) / float64(max(len(batches), 1))
	w := math.Min(slot*0.27, 22)
	cpeak := 1.0
	for _, c := range credits {
		cpeak = max(cpeak, c)
	}
	ctop := niceCeil(cpeak)
	var pts []string
	for i, b := range batches {
		x0 := plotX + float64(i)*slot + slot/2
		for j, v := range []struct {
			class string
			ms    int64
		}{{"delay", b.DelayMs}, {"processing", b.ProcessingMs}, {"checkpoint", b.CheckpointMs}} {
			bx := x0 - 1.5*w + float64(j)*w
			out.Bars = append(out.Bars, svgBar{X: bx, Y: y(float64(v.ms)), W: w - 1, H: out.BaseY - y(float64(v.ms)),
				Class: v.class, Title: fmt.Sprintf("batch %d %s: %s", b.Index, v.class, formatMs(v.ms))})
		}
		out.Labels = append(out.Labels, svgTick{X: x0, Label: fmt.Sprint(b.Index)})
		if b.StoreOps > 0 {
			out.Notes = append(out.Notes, svgTick{X: x0, Label: fmt.Sprint(b.StoreOps)})
		}
		if b.StoreFaults > 0 {
			out.Faults = append(out.Faults, svgTick{X: x0, Label: fmt.Sprintf("%d⚡", b.StoreFaults)})
		}
		mark := ""
		if b.Restarted {
			mark += "↻"
		}
		if b.Alarm {
			mark += "⚑"
		}
		if mark != "" {
			out.Marks = append(out.Marks, svgTick{X: x0, Label: mark})
		}
		if b.CreditsKiB != nil {
			cy := out.BaseY - *b.CreditsKiB/ctop*(out.BaseY-top)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x0, max(cy, top)))
		}
	}
	if interval > 0 {
		out.IntervalY = y(float64(interval))
	}
	if len(pts) > 0 {
		out.Credits = strings.Join(pts, " ")
		for i := range 3 {
			v := ctop * float64(i) / 2
			out.CreditTicks = append(out.CreditTicks, svgTick{X: out.BaseY - v/ctop*(out.BaseY-top), Label: fmt.Sprintf("%.0f KiB", v)})
		}
	}
	for i := range 5 {
		v := top1 * float64(i) / 4
		out.YTicks = append(out.YTicks, svgTick{X: y(v), Label: formatMs(int64(v))})
	}
	if n := len(batches); n > 0 {
		last := batches[n-1]
		out.Description = fmt.Sprintf("%d batches; the last, batch %d, waited %s, processed in %s and checkpointed in %s",
			n, last.Index, formatMs(last.DelayMs), formatMs(last.ProcessingMs), formatMs(last.CheckpointMs))
	}
	return out
}

// niceCeil rounds up to 1, 2, 2.5 or 5 × 10ⁿ so axis labels are round.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// svgRate is a proportion drawn as a bar with its confidence interval as a
// whisker, on a 0–100% track.
type svgRate struct {
	Fill       float64 // width of the point estimate
	Lo, Hi     float64
	Width      float64
	Percent    string
	Interval   string
	AriaLabel  string
	VerdictCSS string
}

func layoutRate(c *result.Cell) *svgRate {
	if c.Rate == nil || c.Runs == 0 {
		return nil
	}
	const w = 180.0
	p := float64(c.Hits) / float64(c.Runs)
	return &svgRate{
		Fill: p * w, Lo: c.Rate.Lo * w, Hi: c.Rate.Hi * w, Width: w,
		Percent:    fmt.Sprintf("%.0f%%", p*100),
		Interval:   fmt.Sprintf("%.0f–%.0f%%", c.Rate.Lo*100, c.Rate.Hi*100),
		AriaLabel:  fmt.Sprintf("%d of %d runs, %.0f%%, 95%% interval %.0f to %.0f%%", c.Hits, c.Runs, p*100, c.Rate.Lo*100, c.Rate.Hi*100),
		VerdictCSS: verdictClass(c.Verdict),
	}
}
