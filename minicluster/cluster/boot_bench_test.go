package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
)

// BenchmarkBoot starts a driver and 4, 16, 32 and 64 executor processes of the
// real binaries (nodes of 2 or 4 executors) and runs kryo-distributed on
// them, to show how boot time grows with the cluster. boot-ms is the time
// from Start until the driver logged its last executor-added event; run-ms
// the whole run until Wait returned; ns/op covers Start to Close.
// make bench prints each size's boot time against the 4-executor one.
func BenchmarkBoot(b *testing.B) {
	for _, size := range []struct{ nodes, perNode int }{{2, 2}, {4, 4}, {8, 4}, {16, 4}} {
		executors := size.nodes * size.perNode
		b.Run(fmt.Sprintf("executors=%d", executors), func(b *testing.B) {
			bin := faultbookBinary(b)
			var boot, run time.Duration
			for i := 0; b.Loop(); i++ {
				ctx, cancel := context.WithTimeout(context.Background(), runBound)
				sp := kryoSpec(fmt.Sprintf("boot-bench#%d", i), size.nodes, size.perNode, nil)
				start := time.Now()
				c, err := Start(ctx, sp, Options{Binary: bin, Dir: b.TempDir()})
				if err != nil {
					cancel()
					b.Fatal(err)
				}
				out, err := c.Wait(ctx)
				run += time.Since(start)
				closeErr := c.Close()
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				if closeErr != nil {
					b.Fatal(closeErr)
				}
				if out.Result == nil || out.Result.Status != driver.Succeeded || out.Result.Executors != executors {
					b.Fatalf("run did not succeed on %d executors: %+v (driver %s)", executors, out.Result, out.DriverExit)
				}
				var last time.Time
				added := 0
				for _, e := range out.Events {
					if e.Kind == events.ExecutorAdded {
						added++
						last = e.Time
					}
				}
				if added != executors {
					b.Fatalf("%d executor-added events, want %d", added, executors)
				}
				boot += last.Sub(start)
			}
			b.ReportMetric(float64(boot.Microseconds())/1000/float64(b.N), "boot-ms")
			b.ReportMetric(float64(run.Microseconds())/1000/float64(b.N), "run-ms")
		})
	}
}

// BenchmarkRunPhases splits one short run (kryo-distributed on a driver and 2
// executors, the shape of registration-order-natural) into its phases, each
// reported as the mean milliseconds from Start: the driver listening
// (listening-ms), Start returning with every executor launched
// (launched-ms), the last executor registered (registered-ms), the first job
// submitted and the last one ended (first-job-ms, jobs-end-ms), the driver's
// application end (app-end-ms), Wait returning once executors have exited and
// the run's files are read (waited-ms), and Close (closed-ms).
func BenchmarkRunPhases(b *testing.B) {
	bin := faultbookBinary(b)
	sums := map[string]time.Duration{}
	order := []string{"listening-ms", "launched-ms", "registered-ms", "first-job-ms", "jobs-end-ms", "app-end-ms", "waited-ms", "closed-ms"}
	for i := 0; b.Loop(); i++ {
		ctx, cancel := context.WithTimeout(context.Background(), runBound)
		sp := kryoSpec(fmt.Sprintf("phases-bench#%d", i), 2, 1, nil)
		var listening time.Time
		start := time.Now()
		c, err := Start(ctx, sp, Options{Binary: bin, Dir: b.TempDir(), OnDriverLine: func(l string) {
			if listening.IsZero() && strings.HasPrefix(l, ListeningPrefix) {
				listening = time.Now()
			}
		}})
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		launched := time.Now()
		out, err := c.Wait(ctx)
		waited := time.Now()
		closeErr := c.Close()
		closed := time.Now()
		cancel()
		if err != nil || closeErr != nil {
			b.Fatal(err, closeErr)
		}
		if out.Result == nil || out.Result.Status != driver.Succeeded {
			b.Fatalf("run did not succeed: %+v (driver %s)", out.Result, out.DriverExit)
		}
		at := map[string]time.Time{"listening-ms": listening, "launched-ms": launched, "waited-ms": waited, "closed-ms": closed}
		for _, e := range out.Events {
			switch e.Kind {
			case events.ExecutorAdded:
				at["registered-ms"] = e.Time
			case events.JobStart:
				if at["first-job-ms"].IsZero() {
					at["first-job-ms"] = e.Time
				}
			case events.JobEnd:
				at["jobs-end-ms"] = e.Time
			case events.ApplicationEnd:
				at["app-end-ms"] = e.Time
			}
		}
		for _, k := range order {
			if at[k].IsZero() {
				b.Fatalf("no %s in run %d", k, i)
			}
			sums[k] += at[k].Sub(start)
		}
	}
	for _, k := range order {
		b.ReportMetric(float64(sums[k].Microseconds())/1000/float64(b.N), k)
	}
}
