package diagnose

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/faultbook/faultbook/minicluster/events"
)

// Diagnoser matches signatures against inputs fed to it, one record at a
// time. It is not safe for concurrent use.
type Diagnoser struct {
	sigs    []*sigState
	sources []*Source
	sum     summaryState
	// finished counts tasks that finished, by host (OneHost clauses).
	finished map[string]int
	// gate skips lines no pattern can match (nil: every line is matched).
	gate *gate
	// Progress, when set, is told how many input bytes were read.
	Progress func(n int64)
}

// New returns a Diagnoser for the given signatures (duplicates by ID are
// taken once, the first wins).
func New(sigs []*Signature) (*Diagnoser, error) {
	d := &Diagnoser{sum: newSummary(), finished: map[string]int{}}
	seen := map[string]bool{}
	cache := map[Pattern]*compiled{}
	for _, s := range sigs {
		if s == nil || seen[s.ID] {
			continue
		}
		if err := s.Validate(); err != nil {
			return nil, err
		}
		seen[s.ID] = true
		d.sigs = append(d.sigs, &sigState{sig: s, require: newClauses(s.Require, cache), requireAny: newClauses(s.RequireAny, cache), support: newClauses(s.Support, cache), absent: newClauses(s.Absent, cache)})
	}
	var pres []*prefilter
	for _, c := range cache {
		if c.message != nil {
			pres = append(pres, c.pre)
		}
	}
	d.gate = newGate(pres)
	return d, nil
}

func (d *Diagnoser) newSource(name, kind string, fixed Place) *Source {
	s := &Source{Name: name, Kind: kind, fixed: fixed}
	d.sources = append(d.sources, s)
	return s
}

// record matches one record.
func (d *Diagnoser) record(r *Record) {
	d.sum.record(r)
	if r.Finished != "" && len(d.finished) < maxHosts {
		d.finished[r.Finished]++
	}
	if d.gate != nil && len(r.Exceptions) == 0 && len(r.Frames) == 0 && !r.Task && !d.gate.any(r.Text) && !d.gate.anyOf(r.More) {
		return
	}
	for _, s := range d.sigs {
		for _, group := range [][]*clauseState{s.require, s.requireAny, s.support, s.absent} {
			for _, c := range group {
				c.feed(r)
			}
		}
	}
}

// event accounts one event-log event and matches what it says of failures.
func (d *Diagnoser) event(src *Source, line int, e events.Event) {
	d.sum.event(e)
	if strings.HasPrefix(e.Spark, events.CustomPrefix) {
		return // faultbook's own events are no evidence of a production failure
	}
	r := &Record{Src: src, Line: line}
	switch e.Kind {
	case events.TaskEnd:
		if e.Outcome == "success" && e.Node != "" && len(d.finished) < maxHosts {
			d.finished[e.Node]++
		}
		if e.Outcome != "failed" {
			return
		}
		r.Reported, r.Task, r.Host = true, true, e.Node
		r.Text = clip(fmt.Sprintf("Lost task %d.%d in stage %d.%d (TID %d, %s, executor %s): %s", e.Task, e.Attempt, e.Stage, e.StageAtt, e.TID, e.Node, e.ExecID, firstLine(e.Reason)))
		if e.ReasonKind != "" {
			r.Exceptions = append(r.Exceptions, Exception{Class: e.ReasonKind, Message: strings.TrimPrefix(firstLine(e.Reason), e.ReasonKind+": "), Line: line, Text: r.Text})
		}
		r.Exceptions = append(r.Exceptions, inlineExceptions(strings.TrimPrefix(e.Reason, e.ReasonKind), line)...)
		r.Frames = framesOf(e.Stack)
	case events.JobEnd, events.StageCompleted:
		msg := e.Message
		if e.Kind == events.StageCompleted {
			msg = e.Reason
		}
		if e.Outcome == "success" || msg == "" {
			return
		}
		r.Text = clip(firstLine(msg))
		r.Task = taskFailure(r.Text)
		r.Exceptions = inlineExceptions(r.Text, line)
		r.Frames = framesOf(msg)
	case events.ExecutorRemoved:
		r.Text = clip(fmt.Sprintf("Executor %s removed: %s", e.ExecID, e.Message))
		r.Exceptions = inlineExceptions(e.Message, line)
	case events.ExcludedExecutor, events.ExcludedExecutorForStage:
		r.Text = fmt.Sprintf("%s: executor %s excluded after %d task failures", e.Spark, e.ExecID, e.Count)
	case events.ExcludedNode:
		r.Text = fmt.Sprintf("%s: node %s excluded after %d executor failures", e.Spark, e.Node, e.Count)
	default:
		return
	}
	d.record(r)
}

func framesOf(stack string) []string {
	var out []string
	for l := range strings.Lines(stack) {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "at ") && len(out) < maxFrames {
			out = append(out, t[3:])
		}
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Report is what the inputs show.
type Report struct {
	Inputs  []InputInfo `json:"inputs"`
	Matches []*Match    `json:"matches"`
	Summary Summary     `json:"summary"`
}

// InputInfo describes one source read.
type InputInfo struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Place Place  `json:"place"`
	Lines int    `json:"lines"`
}

// Report evaluates every signature against what was fed.
func (d *Diagnoser) Report() *Report {
	rep := &Report{Summary: d.sum.summary(), Matches: []*Match{}}
	places := d.places()
	for _, s := range d.sources {
		if s.Lines > 0 || s.Kind != "" {
			rep.Inputs = append(rep.Inputs, InputInfo{Name: s.Name, Kind: s.Kind, Place: s.Place(), Lines: s.Lines})
		}
	}
	refined := map[string]bool{}
	var ms []*Match
	for _, s := range d.sigs {
		if m, ok := s.evaluate(places, d.finished); ok {
			ms = append(ms, m)
			for _, r := range s.sig.Refines {
				refined[r] = true
			}
		}
	}
	for _, m := range ms {
		if !refined[m.ID] {
			rep.Matches = append(rep.Matches, m)
		}
	}
	sort.SliceStable(rep.Matches, func(i, j int) bool { return rep.Matches[i].Confidence > rep.Matches[j].Confidence })
	return rep
}

// Check evaluates one signature alone (its refinements aside): the match, or
// an error saying which statement of its evidence the inputs lack.
func (d *Diagnoser) Check(id string) (*Match, error) {
	places := d.places()
	for _, s := range d.sigs {
		if s.sig.ID == id {
			m, why := s.explain(places, d.finished)
			if m == nil {
				return nil, fmt.Errorf("%s: %s", id, why)
			}
			return m, nil
		}
	}
	return nil, fmt.Errorf("no signature %q", id)
}

func (d *Diagnoser) places() map[Place]bool {
	places := map[Place]bool{}
	for _, s := range d.sources {
		places[s.Place()] = true
	}
	if d.sum.eventLogs > 0 {
		places[Driver] = true
	}
	return places
}

// IDs lists the matched failure modes.
func (r *Report) IDs() []string {
	var out []string
	for _, m := range r.Matches {
		out = append(out, m.ID)
	}
	return slices.Clip(out)
}
