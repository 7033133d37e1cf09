package scenarios

import (
	"github.com/faultbook/faultbook/harness/diagnose"
)

// Signatures lists every signature diagnose knows: the catalogue's scenarios'
// first, then those of failures no scenario in this build reproduces yet,
// which offer no command to reproduce them.
func (c *Catalogue) Signatures() []*diagnose.Signature {
	var out []*diagnose.Signature
	seen := map[string]bool{}
	for _, s := range c.list {
		if s.Signature != nil && !seen[s.Signature.ID] {
			seen[s.Signature.ID] = true
			out = append(out, s.Signature)
		}
	}
	for _, s := range diagnose.Pending() {
		if seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		if _, ok := c.byName[s.Scenario]; !ok {
			s.Scenario = "" // each call builds a fresh signature: clearing it here touches no one else's
		}
		out = append(out, s)
	}
	return out
}
