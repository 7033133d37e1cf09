package harness

import (
	"path/filepath"
	"strings"

	"github.com/faultbook/faultbook/harness/diagnose"
)

// judgeSignature requires the scenario's signature in a reproduce run's logs,
// read as `faultbook diagnose` reads a run directory, so the symptom
// faultbook reproduces and the one it recognises in production logs are the
// same. A run whose output is silently wrong leaves no failure to recognise.
func judgeSignature(sc *Scenario, o *Observation, ev *Evidence) []string {
	if sc.Signature == nil || !o.Aborted() || o.Outcome.Dir == "" {
		return nil
	}
	d, err := diagnose.New([]*diagnose.Signature{sc.Signature})
	if err != nil {
		return []string{"signature: " + err.Error()}
	}
	if err := d.AddPath(o.Outcome.Dir); err != nil {
		return []string{"signature: " + err.Error()}
	}
	m, err := d.Check(sc.Signature.ID)
	if err != nil {
		return []string{"the logs do not show the documented evidence diagnose recognises: " + err.Error()}
	}
	for _, e := range m.Evidence[:min(len(m.Evidence), 2)] {
		ev.Add(logSource(e.File), e.Text)
	}
	ev.Addf("diagnose recognises %s in these logs (%s confidence)", m.ID, m.Level)
	return nil
}

// logSource names a run directory's file as an evidence source ("exec-2").
func logSource(file string) string {
	base := filepath.Base(file)
	if strings.HasPrefix(base, "exec-") && strings.HasSuffix(base, ".log") {
		return strings.TrimSuffix(base, ".log")
	}
	if base == "driver.log" {
		return "driver"
	}
	return "driver" // the driver's event log
}
