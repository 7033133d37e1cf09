package stream

import (
	"time"

	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

const (
	safeguardManifest = safeguard.ManifestCommit
	safeguardValidate = safeguard.ValidateOnRecovery
)

// fired records a safeguard's diagnosis on the driver.
func (c *Context) fired(n safeguard.Name, msg string) {
	c.log.Warn("Safeguard "+string(n)+": "+msg, "component", "streaming.StreamingContext")
	c.ev.Emit(events.Event{Kind: events.SafeguardFired, Name: string(n), Role: "driver", Message: msg})
}

// lagAlarm is the checkpoint-lag-alarm safeguard (see alarm.go).
type lagAlarm struct {
	c *Context
}

func newLagAlarm(c *Context) *lagAlarm { return &lagAlarm{c: c} }

func (a *lagAlarm) observe(_ Batch, _, _ time.Duration, _ map[string]float64) {}
