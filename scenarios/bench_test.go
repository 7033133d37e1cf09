package scenarios

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/cluster/clustertest"
)

// benchBound bounds one harness run in these benchmarks.
const benchBound = 5 * time.Minute

// BenchmarkCellRuns measures how many runs of one cell (boot, job, judge,
// teardown, each on its own cluster of fresh executor processes) the harness
// carries out per second with two clusters at a time, on
// registration-order-natural (2 executor processes; the driver runs in the
// harness, in client deploy mode), against its floor measured in the same
// iteration: the rate at which the machine merely starts and reaps the same
// two processes per run of faultbook-node (which exits at once with a usage
// error), two runs at a time. vs-process-floor says what share of that
// floor the harness reaches.
func BenchmarkCellRuns(b *testing.B) {
	bin := clustertest.Binary(b)
	node := cluster.NodeBinary(bin)
	sc := RegistrationOrderNatural()
	const repeat = 50 // × 4 cells
	var runs int
	var cellTime, floorTime time.Duration
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), benchBound)
		start := time.Now()
		res, err := harness.Run(ctx, []*harness.Scenario{sc}, harness.Options{Binary: bin, App: fixtures.App(), Dir: b.TempDir(), Repeat: repeat, Parallel: 2}, nil)
		cellTime += time.Since(start)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, c := range res.Scenarios[0].Cells {
			n += c.Runs
			if c.Verdict != result.Pass {
				b.Fatalf("%s: %s: %v", c.Cell, c.Verdict, c.Problems)
			}
		}
		runs += n
		start = time.Now()
		if err := startAndReap(node, n, 2, 2); err != nil {
			b.Fatal(err)
		}
		floorTime += time.Since(start)
	}
	rate := float64(runs) / cellTime.Seconds()
	floor := float64(runs) / floorTime.Seconds()
	b.ReportMetric(rate, "runs/s")
	b.ReportMetric(floor, "floor-runs/s")
	b.ReportMetric(rate/floor, "vs-process-floor")
}

// startAndReap starts runs × procs processes of bin, parallel runs at a
// time, all procs of a run at once, and waits for each to exit.
func startAndReap(bin string, runs, parallel, procs int) error {
	sem := make(chan struct{}, parallel)
	errc := make(chan error, runs*procs)
	var wg sync.WaitGroup
	for range runs {
		sem <- struct{}{}
		var run sync.WaitGroup
		for range procs {
			run.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer run.Done()
				// No role: faultbook-node prints its usage and exits 2.
				if err := exec.Command(bin).Run(); err != nil {
					if x, ok := err.(*exec.ExitError); !ok || x.ExitCode() != 2 {
						errc <- err
					}
				}
			}()
		}
		go func() { run.Wait(); <-sem }()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// BenchmarkSafeguardOverhead runs every scenario's control and no-false-alarm
// cells FAULTBOOK_BENCH_REPEAT times each (default 10), two clusters at a
// time, and reports the no-false-alarm cell's mean duration over the
// control's with its 95% interval (harness.Overhead), as results.json
// reports it.
func BenchmarkSafeguardOverhead(b *testing.B) {
	bin := clustertest.Binary(b)
	repeat := 10
	if v, err := strconv.Atoi(os.Getenv("FAULTBOOK_BENCH_REPEAT")); err == nil && v >= 2 {
		repeat = v
	}
	for _, sc := range all() {
		b.Run(sc.Name, func(b *testing.B) {
			var c, nfa *result.Cell
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), benchBound)
				res, err := harness.Run(ctx, []*harness.Scenario{sc}, harness.Options{Binary: bin, App: fixtures.App(), Dir: b.TempDir(),
					Repeat: repeat, Parallel: 2, Cells: []result.CellKind{result.Control, result.NoFalseAlarm}}, nil)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				for i := range res.Scenarios[0].Cells {
					cell := &res.Scenarios[0].Cells[i]
					if cell.Verdict != result.Pass {
						b.Fatalf("%s: %s: %v", cell.Cell, cell.Verdict, cell.Problems)
					}
					switch cell.Cell {
					case result.Control:
						c = cell
					case result.NoFalseAlarm:
						nfa = cell
					}
				}
			}
			if c == nil || nfa == nil || nfa.OverheadInterval == nil {
				b.Fatalf("no overhead interval: control %v, no-false-alarm %v", c, nfa)
			}
			b.ReportMetric(float64(c.DurationMs), "control-ms")
			b.ReportMetric(float64(nfa.DurationMs), "nfa-ms")
			b.ReportMetric(*nfa.OverheadPct, "overhead-%")
			b.ReportMetric(nfa.OverheadInterval.Lo, "overhead-lo-%")
			b.ReportMetric(nfa.OverheadInterval.Hi, "overhead-hi-%")
			b.ReportMetric(float64(repeat), "runs-per-cell")
		})
	}
}
