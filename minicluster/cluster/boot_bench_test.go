package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
)

// BenchmarkBoot32Executors starts a driver and 32 executor processes (8 nodes ×
// 4) of the real binary and runs kryo-distributed on them. boot-ms is the time
// from Start until the driver logged its 32nd executor-added event; run-ms the
// whole run until Wait returned. ns/op covers Start to Close.
func BenchmarkBoot32Executors(b *testing.B) {
	const executors = 32
	bin := faultbookBinary(b)
	var boot, run time.Duration
	b.ResetTimer()
	for i := range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), runBound)
		sp := kryoSpec(fmt.Sprintf("boot-bench#%d", i), 8, 4, nil)
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
		var added []time.Time
		for _, e := range out.Events {
			if e.Kind == events.ExecutorAdded {
				added = append(added, e.Time)
			}
		}
		if len(added) != executors {
			b.Fatalf("%d executor-added events, want %d", len(added), executors)
		}
		boot += added[executors-1].Sub(start)
	}
	b.ReportMetric(float64(boot.Milliseconds())/float64(b.N), "boot-ms")
	b.ReportMetric(float64(run.Milliseconds())/float64(b.N), "run-ms")
}
