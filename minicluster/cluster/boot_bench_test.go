package cluster

import (
	"context"
	"fmt"
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
