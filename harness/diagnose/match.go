package diagnose

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Evidence is one line that proves a clause.
type Evidence struct {
	File  string `json:"file"`
	Line  int    `json:"line"`
	Place Place  `json:"place"`
	Text  string `json:"text"`
}

// String is "file:line (place) text".
func (e Evidence) String() string {
	return fmt.Sprintf("%s:%d (%s) %s", e.File, e.Line, e.Place, e.Text)
}

const samplesPerClause = 3

type hitKey struct {
	src      *Source
	reported bool
}

type hits struct {
	n       int
	samples []sample
}

type sample struct {
	line int
	text string
}

type clauseState struct {
	c    Clause
	pats []*compiled
	hits map[hitKey]*hits
	// byHost counts matching failed tasks by host, for OneHost.
	byHost map[string]int
	// grow follows the numbers of a Growing clause.
	grow growth
}

// growth tracks the longest run of rises of a series, and how far it rose.
type growth struct {
	seen           bool
	last, runStart float64
	run, best      int
}

func (g *growth) add(v float64, min int) {
	switch {
	case !g.seen:
		g.seen, g.runStart = true, v
	case v > g.last:
		g.run++
		if g.run >= min && v >= 3*g.runStart {
			g.best = max(g.best, g.run)
		}
	default:
		g.run, g.runStart = 0, v
	}
	g.last = v
}

type sigState struct {
	sig                                  *Signature
	require, requireAny, support, absent []*clauseState
}

// newClauses compiles clauses; patterns shared by several clauses (the same
// evidence counted for two failure modes) are compiled once, in cache, and
// matched once per record.
func newClauses(cs []Clause, cache map[Pattern]*compiled) []*clauseState {
	var out []*clauseState
	for _, c := range cs {
		st := &clauseState{c: c, hits: map[hitKey]*hits{}, byHost: map[string]int{}}
		for _, p := range c.Any {
			cp := cache[p]
			if cp == nil {
				var err error
				if cp, err = p.compile(); err != nil {
					panic(err) // Validate ran first
				}
				cache[p] = cp
			}
			st.pats = append(st.pats, cp)
		}
		out = append(out, st)
	}
	return out
}

// feed records r against every clause.
func (st *clauseState) feed(r *Record) {
	if st.c.OneHost && r.Host == "" {
		return
	}
	for _, p := range st.pats {
		line, text, ok := p.match(r)
		if !ok {
			continue
		}
		if st.c.OneHost && len(st.byHost) < maxHosts {
			st.byHost[r.Host]++
		}
		if st.c.Growing {
			if m := p.message.FindStringSubmatch(text); len(m) > 1 {
				if v, err := strconv.ParseFloat(m[1], 64); err == nil {
					st.grow.add(v, st.c.min())
				}
			}
		}
		k := hitKey{r.Src, r.Reported}
		h := st.hits[k]
		if h == nil {
			h = &hits{}
			st.hits[k] = h
		}
		h.n++
		if len(h.samples) < samplesPerClause {
			h.samples = append(h.samples, sample{line, text})
		}
		return
	}
}

// match reports whether r matches, and the line and text that show it; the
// answer for the last record is kept, for patterns shared between clauses.
func (p *compiled) match(r *Record) (int, string, bool) {
	if p.last != r {
		p.last = r
		p.lastLine, p.lastText, p.lastOK = p.matchRecord(r)
	}
	return p.lastLine, p.lastText, p.lastOK
}

func (p *compiled) matchRecord(r *Record) (int, string, bool) {
	if p.task && !r.Task {
		return 0, "", false
	}
	if p.not != nil {
		if p.not.MatchString(r.Text) {
			return 0, "", false
		}
		for _, e := range r.Exceptions {
			if p.not.MatchString(e.Text) || p.not.MatchString(e.Class) {
				return 0, "", false
			}
		}
		for _, e := range r.More {
			if p.not.MatchString(e.Text) {
				return 0, "", false
			}
		}
	}
	line, text := r.Line, r.Text
	if p.exception != nil {
		found := false
		for _, e := range r.Exceptions {
			if p.exception.MatchString(e.Class) {
				found = true
				if e.Text != r.Text {
					line, text = e.Line, e.Text
				}
				break
			}
		}
		if !found {
			return 0, "", false
		}
	}
	if p.message != nil {
		var m []string
		if p.pre.may(r.Text, r.lower) {
			m = p.submatch(r.Text)
		}
		if m == nil {
			for _, e := range slices.Concat(r.Exceptions, r.More) {
				if e.Text != r.Text && p.pre.may(e.Text, nil) {
					if m = p.submatch(e.Text); m != nil {
						line, text = e.Line, e.Text
						break
					}
				}
			}
		}
		if m == nil {
			return 0, "", false
		}
		if p.atLeast > 0 {
			if len(m) < 2 {
				return 0, "", false
			}
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil || v < p.atLeast {
				return 0, "", false
			}
		}
	}
	if p.frame != nil {
		found := false
		for _, f := range r.Frames {
			if p.frame.MatchString(f) {
				found = true
				break
			}
		}
		if !found {
			return 0, "", false
		}
	}
	return line, text, true
}

// submatch is the message's match and groups, nil when none; groups only
// when a number is compared.
func (p *compiled) submatch(s string) []string {
	if p.atLeast > 0 {
		return p.message.FindStringSubmatch(s)
	}
	if p.message.MatchString(s) {
		return []string{s}
	}
	return nil
}

// tally is what a clause found, with places resolved.
type tally struct {
	n        int // records in the clause's place
	unsure   int // records from a source of unknown place
	evidence []Evidence
}

func (st *clauseState) tally(finished map[string]int) tally {
	var t tally
	if st.c.OneHost && !oneHost(st.byHost, finished) {
		return t
	}
	if st.c.Growing && st.grow.best < st.c.min() {
		return t
	}
	keys := make([]hitKey, 0, len(st.hits))
	for k := range st.hits {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].src.Name < keys[j].src.Name })
	for _, k := range keys {
		h := st.hits[k]
		place := k.src.Place()
		if k.reported {
			place = Executor
		}
		switch {
		case st.c.In == Anywhere || place == st.c.In:
			t.n += h.n
		case place == Unknown:
			t.unsure += h.n
		default:
			continue
		}
		for _, s := range h.samples {
			if len(t.evidence) < samplesPerClause {
				t.evidence = append(t.evidence, Evidence{File: k.src.Name, Line: s.line, Place: place, Text: s.text})
			}
		}
	}
	return t
}

func (c Clause) min() int { return max(c.Min, 1) }

// oneHost: every failure on one host, and a task finished on another.
func oneHost(failed, finished map[string]int) bool {
	if len(failed) != 1 {
		return false
	}
	for bad := range failed {
		for h, n := range finished {
			if h != bad && n > 0 {
				return true
			}
		}
	}
	return false
}

// Match is a failure mode the inputs show.
type Match struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Confidence float64    `json:"confidence"`
	Level      string     `json:"level"`
	Why        []string   `json:"why"`
	Evidence   []Evidence `json:"evidence"`
	RootCause  string     `json:"root_cause"`
	Fixes      []string   `json:"fixes,omitempty"`
	Conf       []Setting  `json:"conf,omitempty"`
	Safeguard  string     `json:"safeguard,omitempty"`
	Reproduce  string     `json:"reproduce,omitempty"`
	Source     string     `json:"source,omitempty"`
	Section    string     `json:"section,omitempty"`
}

// evaluate decides whether a signature matched. places says which places
// were among the inputs, so an absence is only claimed where it was looked for.
func (s *sigState) evaluate(places map[Place]bool, finished map[string]int) (*Match, bool) {
	m, _ := s.explain(places, finished)
	return m, m != nil
}

// explain is evaluate that says, when the signature does not match, which
// statement of its evidence failed.
func (s *sigState) explain(places map[Place]bool, finished map[string]int) (*Match, string) {
	m := &Match{ID: s.sig.ID, Title: s.sig.Title, RootCause: s.sig.RootCause, Fixes: s.sig.Fixes, Conf: s.sig.Conf,
		Safeguard: s.sig.Safeguard, Reproduce: s.sig.Reproduce(), Source: s.sig.Source, Section: s.sig.Section}
	conf := 0.6
	for _, c := range s.require {
		t := c.tally(finished)
		switch {
		case t.n >= c.c.min():
			m.Why = append(m.Why, fmt.Sprintf("%s (%d)", c.c.Says, t.n))
		case t.n+t.unsure >= c.c.min():
			conf -= 0.2
			m.Why = append(m.Why, fmt.Sprintf("%s (%d, in a log whose process could not be told)", c.c.Says, t.n+t.unsure))
		default:
			return nil, fmt.Sprintf("no evidence that %s (%d of %d)", c.c.Says, t.n+t.unsure, c.c.min())
		}
		m.Evidence = append(m.Evidence, t.evidence...)
	}
	if len(s.requireAny) > 0 {
		held := false
		for _, c := range s.requireAny {
			if t := c.tally(finished); t.n >= c.c.min() {
				held = true
				m.Why = append(m.Why, fmt.Sprintf("%s (%d)", c.c.Says, t.n))
				m.Evidence = append(m.Evidence, t.evidence...)
			}
		}
		if !held {
			var says []string
			for _, c := range s.requireAny {
				says = append(says, c.c.Says)
			}
			return nil, "no evidence that " + strings.Join(says, ", or that ")
		}
	}
	for _, c := range s.absent {
		t := c.tally(finished)
		if t.n >= c.c.min() {
			ev := ""
			if len(t.evidence) > 0 {
				ev = ": " + t.evidence[0].String()
			}
			return nil, "unlike the documented failure, " + c.c.Says + ev
		}
		if c.c.In != Anywhere && !places[c.c.In] {
			conf -= 0.1
			m.Why = append(m.Why, "not checked, no "+string(c.c.In)+" log among the inputs: "+c.c.Says)
			continue
		}
		m.Why = append(m.Why, "as documented, nothing shows that "+c.c.Says)
	}
	if len(s.support) > 0 {
		held := 0
		for _, c := range s.support {
			t := c.tally(finished)
			if t.n >= c.c.min() {
				held++
				m.Why = append(m.Why, fmt.Sprintf("%s (%d)", c.c.Says, t.n))
				m.Evidence = append(m.Evidence, t.evidence...)
			}
		}
		conf += 0.4 * float64(held) / float64(len(s.support))
	} else {
		conf += 0.3
	}
	m.Confidence = float64(int(max(min(conf, 1), 0.05)*100+0.5)) / 100
	switch {
	case m.Confidence >= 0.75:
		m.Level = "high"
	case m.Confidence >= 0.5:
		m.Level = "medium"
	default:
		m.Level = "low"
	}
	m.Evidence = dedupe(m.Evidence)
	return m, ""
}

func dedupe(ev []Evidence) []Evidence {
	seen := map[string]bool{}
	out := ev[:0]
	for _, e := range ev {
		k := e.File + ":" + strconv.Itoa(e.Line)
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}
