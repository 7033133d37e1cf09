package stream

import (
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
