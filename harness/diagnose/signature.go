// Package diagnose recognises documented failure modes in the logs a Spark
// application leaves behind: driver and executor logs in the log4j layouts of
// Spark 1.x to 3.x and Spark 4's JSON, `yarn logs` output, Spark event logs
// (plain, zstd, lz4) and faultbook's own run directories. Each failure mode is
// a Signature, declared as data beside the scenario that reproduces it, so the
// reproduce judge and `faultbook diagnose` recognise the same evidence.
//
// Input is streamed: records are matched as they are read and only counts and
// a few sample lines per clause are kept, so memory does not grow with the log.
package diagnose

import (
	"fmt"
	"regexp"
)

// Place is where a line was logged.
type Place string

const (
	// Driver: the driver's log, or the driver's event log.
	Driver Place = "driver"
	// Executor: an executor's log, or a failure an executor reported with its
	// stack trace (a TaskEnd's exception in the event log).
	Executor Place = "executor"
	// Unknown: a log whose content does not say which process wrote it.
	Unknown Place = "unknown"
	// Anywhere, in a Clause: any place.
	Anywhere Place = ""
)

// Signature is the documented evidence of one failure mode, and what to do
// about it. Require, RequireAny, Support and Absent are read as: every
// Require clause holds, at least one RequireAny clause (when there are any)
// does, none of Absent does (where the place it names was among the inputs),
// and each Support clause that holds raises the confidence.
type Signature struct {
	// ID names the failure mode; it is the name of the scenario that
	// reproduces it when there is one ("registration-order").
	ID    string
	Title string
	// Source is the seed document, Section the FAILURES.md section.
	Source  string
	Section string
	// RootCause in two sentences.
	RootCause string
	// Fixes are the documented fixes; Conf the Spark settings that apply.
	Fixes []string
	Conf  []Setting
	// Safeguard is the safeguard that would have caught it.
	Safeguard string
	// Scenario is the experiment that reproduces it, empty when this build
	// has none yet; Profile the profile to run it under.
	Scenario string
	Profile  string

	Require    []Clause
	RequireAny []Clause
	Support    []Clause
	Absent     []Clause
	// Refines lists failure modes whose evidence this one explains more
	// precisely: when this one matches, they are not reported.
	Refines []string
}

// Setting is a Spark configuration key that applies, with its default.
type Setting struct {
	Key, Default, Note string
}

// Clause is one statement of evidence: at least Min records (default 1)
// logged In a place match one of Any.
type Clause struct {
	// Says what the clause states, as a diagnosis explains itself.
	Says string
	In   Place
	Any  []Pattern
	Min  int
	// OneHost requires the matching records to be failed tasks the driver
	// placed on one host, while tasks finished on another: failures that
	// follow a machine, not the code.
	OneHost bool
	// Growing requires the number in the patterns' first group (in log
	// order) to rise at least Min times in a row and end at least three
	// times where the run of rises began: a delay that builds up batch after
	// batch, not one that jitters.
	Growing bool
}

// Pattern matches one record. Every non-empty field must hold.
type Pattern struct {
	// Exception matches the class name of an exception the record carries
	// (its own or a cause), fully qualified as logged ("java.lang.ClassCastException"
	// or, from minicluster, "ClassCastException").
	Exception string
	// Message matches the record's text: its first line and its exception
	// lines ("java.lang.X: message", "Caused by: …").
	Message string
	// Frame matches one of the record's stack frames.
	Frame string
	// Task requires the record to report a failed task (the driver's "Lost
	// task", an executor's "Exception in task", a failed TaskEnd).
	Task bool
	// AtLeast, when set, requires Message's first group to be a number ≥ it.
	AtLeast float64
	// Not must match none of the record's text and exception lines.
	Not string
}

// Reproduce is the command that reproduces the failure, or "".
func (s *Signature) Reproduce() string {
	if s.Scenario == "" {
		return ""
	}
	p := s.Profile
	if p == "" {
		p = "spark-1.0"
	}
	return "faultbook run " + s.Scenario + " --profile " + p
}

// Validate checks a signature is complete and its patterns compile.
func (s *Signature) Validate() error {
	if s.ID == "" || s.Title == "" || s.RootCause == "" {
		return fmt.Errorf("signature %q: id, title and root cause are required", s.ID)
	}
	if len(s.Require) == 0 && len(s.RequireAny) == 0 {
		return fmt.Errorf("signature %s: no required evidence", s.ID)
	}
	for _, group := range [][]Clause{s.Require, s.RequireAny, s.Support, s.Absent} {
		for _, c := range group {
			if c.Says == "" || len(c.Any) == 0 {
				return fmt.Errorf("signature %s: a clause needs what it says and a pattern", s.ID)
			}
			for _, p := range c.Any {
				if c.Growing && p.Message == "" {
					return fmt.Errorf("signature %s: clause %q grows a number, so each pattern needs a message with a group", s.ID, c.Says)
				}
				if p.Exception == "" && p.Message == "" && p.Frame == "" && !p.Task {
					return fmt.Errorf("signature %s: clause %q: a pattern needs an exception, a message, a frame or a failed task", s.ID, c.Says)
				}
				if _, err := p.compile(); err != nil {
					return fmt.Errorf("signature %s: clause %q: %w", s.ID, c.Says, err)
				}
			}
		}
	}
	return nil
}

// compiled is a Pattern ready to match.
type compiled struct {
	exception, message, frame, not *regexp.Regexp
	task                           bool
	atLeast                        float64
	pre                            *prefilter

	last     *Record
	lastLine int
	lastText string
	lastOK   bool
}

func (p Pattern) compile() (*compiled, error) {
	c := &compiled{task: p.Task, atLeast: p.AtLeast}
	var err error
	re := func(s string) *regexp.Regexp {
		if s == "" || err != nil {
			return nil
		}
		var r *regexp.Regexp
		r, err = regexp.Compile(s)
		return r
	}
	c.exception, c.message, c.frame, c.not = re(p.Exception), re(p.Message), re(p.Frame), re(p.Not)
	if err != nil {
		return nil, err
	}
	if c.message != nil {
		c.pre = newPrefilter(c.message)
	}
	return c, nil
}
