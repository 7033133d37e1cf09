// Package result holds the typed outcome of a faultbook run: scenarios, their four
// cells, evidence, rates and timelines. It is the leaf every other package reads
// (harness writes it, reports renders it, gate compares it) and imports nothing of
// the project, so no cycle can form around it.
//
// The JSON shape is the stable schema "faultbook/results/v1": fields may be added,
// existing ones keep their names and meaning.
package result

import "time"

// Schema names the JSON layout written by Results.
const Schema = "faultbook/results/v1"

// Verdict is the judgement of a cell or a scenario.
type Verdict string

const (
	// Pass: every check of the cell held.
	Pass Verdict = "pass"
	// Fail: the engine ran and a check did not hold.
	Fail Verdict = "fail"
	// Inconclusive: the experiment could not be carried out (an executor did not
	// start, a timeout before the job began); it says nothing about the safeguard.
	Inconclusive Verdict = "inconclusive"
	// Skipped: the cell does not apply to the runtime it was asked to run on
	// (a network partition between processes of one host); Problems says
	// why. It runs nothing and weighs nothing in the scenario's verdict.
	Skipped Verdict = "skipped"
)

// CellKind names one of the four cells of an experiment.
type CellKind string

const (
	// Control: no fault, safeguards off; the job must be correct.
	Control CellKind = "control"
	// Reproduce: fault on, safeguards off; the documented symptom must appear in
	// the documented place.
	Reproduce CellKind = "reproduce"
	// Catch: fault on, safeguard on; caught with a diagnosis naming the cause, or
	// the job completes correctly.
	Catch CellKind = "catch"
	// NoFalseAlarm: no fault, safeguard on; the job is correct and nothing fires.
	NoFalseAlarm CellKind = "no-false-alarm"
	// Case: one of a scenario's extra cases (Cell.Case names it), with a check
	// of its own.
	Case CellKind = "case"
)

// Cells lists the four cells in the order they run and are shown.
var Cells = []CellKind{Control, Reproduce, Catch, NoFalseAlarm}

// Evidence is one line that supports a verdict, labelled with where it came from.
type Evidence struct {
	// Source is "driver", "exec-N" (an executor's own log) or "harness" (a
	// judgement the harness made, such as an output diff).
	Source string `json:"source"`
	Line   string `json:"line"`
}

// Interval is a two-sided confidence interval for a proportion, in [0,1].
type Interval struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// Run is one repetition of a cell.
type Run struct {
	Index      int     `json:"index"`
	Seed       int64   `json:"seed"`
	Verdict    Verdict `json:"verdict"`
	Hit        bool    `json:"hit"`
	DurationMs int64   `json:"duration_ms"`
	CaughtBy   string  `json:"caught_by,omitempty"`
	// NoEffect marks a reproduce or catch run whose fault was configured but
	// had no effect: inconclusive, and for a probabilistic fault a run without
	// the symptom rather than a verdict on the safeguards.
	NoEffect bool `json:"no_effect,omitempty"`
	// Observed is what the run showed, in one line.
	Observed string     `json:"observed,omitempty"`
	Problems []string   `json:"problems,omitempty"`
	Evidence []Evidence `json:"evidence,omitempty"`
	RunDir   string     `json:"run_dir,omitempty"`
}

// Cell is the aggregated outcome of one cell over all its runs.
type Cell struct {
	Cell CellKind `json:"cell"`
	// Case names an extra case ("all-nodes-bad"); empty for the four cells.
	Case    string  `json:"case,omitempty"`
	Verdict Verdict `json:"verdict"`
	// Runs is how many times the cell ran; Hits how many of those runs showed what
	// the cell is looking for (the symptom for reproduce, a catch for catch, a
	// correct result for control and no-false-alarm).
	Runs int `json:"runs"`
	Hits int `json:"hits"`
	// Rate is the Wilson 95% interval of Hits/Runs.
	Rate *Interval `json:"rate,omitempty"`
	// Evidence holds the lines that prove the verdict, from a representative run.
	Evidence []Evidence `json:"evidence"`
	// CaughtBy names what caught the fault: the safeguard that fired, or the
	// safeguards under which the job completed correctly. Set only on a catch
	// cell that passed ("user-fix" for a fix in user code); Caught() is what
	// reports show.
	CaughtBy string `json:"caught_by,omitempty"`
	// UserFix, on a catch cell that is a fix in the application's code rather
	// than an engine safeguard, names the fix ("OptionOf at the lookup").
	UserFix string `json:"user_fix,omitempty"`
	// DurationMs is the mean wall time of one run.
	DurationMs int64 `json:"duration_ms"`
	// DetectionMs is, for a catch, the time from job submission to the first
	// safeguard firing (mean over runs that caught); zero when nothing fired.
	DetectionMs int64 `json:"detection_ms,omitempty"`
	// OverheadPct compares a no-false-alarm cell's duration with the control's.
	OverheadPct *float64 `json:"overhead_pct,omitempty"`
	// OverheadInterval is the 95% interval of OverheadPct over the cells'
	// repeats (harness.Overhead); absent when either cell ran once.
	OverheadInterval *Interval `json:"overhead_interval_pct,omitempty"`
	// Profile and Safeguards say which safeguards were switched on; Faults which
	// faults were injected.
	Profile    string   `json:"profile,omitempty"`
	Safeguards []string `json:"safeguards"`
	Faults     []string `json:"faults"`
	// Observed is a one-line summary of what happened, for tables.
	Observed string `json:"observed,omitempty"`
	// Problems lists every check that did not hold (empty on pass).
	Problems []string `json:"problems,omitempty"`
	// RunDir is the directory of the representative run (logs, events, spec).
	RunDir   string    `json:"run_dir,omitempty"`
	Timeline *Timeline `json:"timeline,omitempty"`
	Logs     []NodeLog `json:"logs,omitempty"`
	// Repeats holds every run when the cell ran more than once.
	Repeats []Run `json:"repeats,omitempty"`
}

// Scenario is one experiment: the documented failure and its four cells.
type Scenario struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// Source is the seed document's file name; Section the FAILURES.md section
	// number ("1").
	Source  string `json:"source"`
	Section string `json:"section,omitempty"`
	// Symptom is the documented symptom and Place where it was documented to
	// appear ("executor log", "driver output").
	Symptom   string `json:"symptom"`
	Place     string `json:"place,omitempty"`
	RootCause string `json:"root_cause,omitempty"`
	// Why explains in two or three sentences what the experiment shows.
	Why string `json:"why,omitempty"`
	// Chain is the causal chain, cause first.
	Chain   []string `json:"chain,omitempty"`
	Verdict Verdict  `json:"verdict"`
	Cells   []Cell   `json:"cells"`
	// Error is set when the scenario could not run at all (infrastructure).
	Error string `json:"error,omitempty"`
}

// Runtime is where a run's nodes ran (`--runtime`). It decides what can run:
// a case that needs each node to be a host of its own is skipped under
// processes.
type Runtime string

const (
	// RuntimeProcess: every node on this host, its executors child processes
	// (the default; what a file written before the runtime was recorded means).
	RuntimeProcess Runtime = "process"
	// RuntimeDocker: each node a container of its own on a private network.
	RuntimeDocker Runtime = "docker"
)

// Runtimes lists every runtime the schema knows.
var Runtimes = []Runtime{RuntimeProcess, RuntimeDocker}

// CheckpointStore says which S3 store streaming scenarios checkpointed to.
// It decides what can run: store faults live in the embedded store and
// cannot reach an external one.
type CheckpointStore string

const (
	// StoreEmbedded: the S3 server the harness embeds (the default; what a
	// file without the field means).
	StoreEmbedded CheckpointStore = "embedded"
	// StoreExternal: a store named by --checkpoint-store.
	StoreExternal CheckpointStore = "external"
)

// CheckpointStores lists every checkpoint store the schema knows.
var CheckpointStores = []CheckpointStore{StoreEmbedded, StoreExternal}

// Results is everything one `faultbook run` produced.
type Results struct {
	Schema  string `json:"schema"`
	Seed    int64  `json:"seed"`
	Profile string `json:"profile,omitempty"`
	// Runtime and CheckpointStore are the environment the run had, as far as
	// it decides which cells can run; absent (a file written before they were
	// recorded) they mean RuntimeProcess and StoreEmbedded. Env reads them
	// with those defaults.
	Runtime         Runtime         `json:"runtime,omitempty"`
	CheckpointStore CheckpointStore `json:"checkpoint_store,omitempty"`

	StartedAt  time.Time  `json:"started_at"`
	DurationMs int64      `json:"duration_ms"`
	Scenarios  []Scenario `json:"scenarios"`
	Matrix     *Matrix    `json:"matrix,omitempty"`
	// Interrupted is true when the run was stopped before every cell finished.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Timeline is what the driver saw of one run, in milliseconds from job start.
type Timeline struct {
	DurationMs int64     `json:"duration_ms"`
	Lanes      []Lane    `json:"lanes"`
	Tasks      []TaskBar `json:"tasks"`
	Markers    []Marker  `json:"markers,omitempty"`
	Bands      []Band    `json:"bands,omitempty"`
	Batches    []Batch   `json:"batches,omitempty"`
}

// Lane is one executor process.
type Lane struct {
	ID   string `json:"id"` // "exec-1"
	Node string `json:"node"`
	// EndMs is when its node reported the process's end, and Exit how it ended
	// ("exit status 137, SIGKILL"); nil and "" while it ran to the end of the run.
	EndMs *int64 `json:"end_ms,omitempty"`
	Exit  string `json:"exit,omitempty"`
	// Replaces is the lane of the executor this one was launched in place of.
	Replaces string `json:"replaces,omitempty"`
}

// TaskBar is one task attempt.
type TaskBar struct {
	Lane    string `json:"lane"`
	Stage   string `json:"stage"` // "1.0": stage id and stage attempt
	Task    int    `json:"task"`  // partition index
	Attempt int    `json:"attempt"`
	TID     int    `json:"tid"`
	StartMs int64  `json:"start_ms"`
	EndMs   int64  `json:"end_ms"`
	// Outcome is "success", "failed" or "killed".
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// Marker is an instant: "executor-lost", "excluded", "safeguard", "abort", "fault".
type Marker struct {
	AtMs  int64  `json:"at_ms"`
	Lane  string `json:"lane,omitempty"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
}

// Band is a span of time, such as a fault being active ("fault") or an
// executor or node excluded ("excluded").
type Band struct {
	FromMs int64  `json:"from_ms"`
	ToMs   int64  `json:"to_ms"`
	Kind   string `json:"kind"`
	Label  string `json:"label"`
	// Lanes are the lanes the band covers (a node's executors); empty for all.
	Lanes []string `json:"lanes,omitempty"`
}

// Batch is one streaming micro-batch.
type Batch struct {
	Index        int   `json:"index"`
	DelayMs      int64 `json:"delay_ms"`
	CheckpointMs int64 `json:"checkpoint_ms"`
	// ProcessingMs is the batch's jobs; IntervalMs the batch interval (wall).
	ProcessingMs int64 `json:"processing_ms,omitempty"`
	IntervalMs   int64 `json:"interval_ms,omitempty"`
	// StoreOps counts the checkpoint store's requests during the batch and
	// StoreFaults the fault effects applied to them.
	StoreOps    int `json:"store_ops,omitempty"`
	StoreFaults int `json:"store_faults,omitempty"`
	// CreditsKiB is the store's burst-credit balance after the batch, when the
	// store meters them.
	CreditsKiB *float64 `json:"credits_kib,omitempty"`
	// Restarted marks the first batch of a restarted driver; Alarm a batch at
	// which a safeguard warned.
	Restarted bool `json:"restarted,omitempty"`
	Alarm     bool `json:"alarm,omitempty"`
}

// NodeLog is one process's log, possibly truncated.
type NodeLog struct {
	Source    string   `json:"source"`
	Lines     []string `json:"lines"`
	Truncated bool     `json:"truncated,omitempty"`
}

// Matrix is the table of which safeguard catches which failure: every scenario's
// fault run under each profile and under each single safeguard.
type Matrix struct {
	// Columns are configuration names: profiles ("spark-1.0", "spark-3",
	// "hardened") then single safeguards ("registry-fingerprint", ...).
	Columns []string    `json:"columns"`
	Rows    []MatrixRow `json:"rows"`
}

// MatrixRow is one scenario across all configurations, in Columns order.
type MatrixRow struct {
	Scenario string       `json:"scenario"`
	Cells    []MatrixCell `json:"cells"`
}

// Outcome of a fault run under one configuration.
type Outcome string

const (
	// Caught: a safeguard fired with a diagnosis naming the cause.
	Caught Outcome = "caught"
	// Survived: the job completed correctly despite the fault.
	Survived Outcome = "survived"
	// Missed: the failure went through (the documented symptom, or wrong output).
	Missed Outcome = "missed"
	// Errored: the run could not be carried out.
	Errored Outcome = "error"
	// NotJudged: the run was carried out, but the fault had no effect in it,
	// for a reason that is neither the configuration's doing nor a
	// safeguard's (a slowdown that did not set in at the machine's pace, a
	// probabilistic fault that did not strike, a sham); Detail gives the
	// evidence. It is no catch, survival or miss, and says nothing about the
	// configuration.
	NotJudged Outcome = "not-judged"
)

// MatrixCell is one scenario under one configuration.
type MatrixCell struct {
	Column   string  `json:"column"`
	Outcome  Outcome `json:"outcome"`
	CaughtBy string  `json:"caught_by,omitempty"`
	Detail   string  `json:"detail,omitempty"`
}

// Env is the run's environment with the defaults of an older file filled in.
func (r *Results) Env() (Runtime, CheckpointStore) {
	rt, st := r.Runtime, r.CheckpointStore
	if rt == "" {
		rt = RuntimeProcess
	}
	if st == "" {
		st = StoreEmbedded
	}
	return rt, st
}

// Caught is what a catch cell credits: CaughtBy when the cell passed, else
// nothing, whatever an older results file recorded.
func (c *Cell) Caught() string {
	if c.Cell != Catch || c.Verdict != Pass {
		return ""
	}
	return c.CaughtBy
}
