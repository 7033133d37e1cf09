// Package scenarios declares faultbook's experiments, one file each, and lists
// them in one explicit registry. A scenario is data: the documented failure (its
// source document, symptom and place), the workload, the fault, the safeguards
// expected to catch it, and a check that recognises the documented symptom.
package scenarios

import (
	"fmt"
	"sort"
	"strings"

	"github.com/faultbook/faultbook/harness"
)

// all is the catalogue, in the order the mission lists the failures.
func all() []*harness.Scenario {
	return []*harness.Scenario{
		RegistrationOrder(),
		RegistrationOrderNatural(),
		RegistrationShift(),
		RegistratorTransport(),
		OptionNil(),
		DeepList(),
		NoOutputOp(),
		EventualCheckpoint(),
		ThrottledCheckpoint(),
		FlakyNode(),
	}
}

// Catalogue is the validated, duplicate-free list of scenarios.
type Catalogue struct {
	list   []*harness.Scenario
	byName map[string]*harness.Scenario
}

// New builds the catalogue from the registry, refusing duplicates and
// incomplete scenarios.
func New() (*Catalogue, error) { return build(all()) }

func build(list []*harness.Scenario) (*Catalogue, error) {
	c := &Catalogue{byName: map[string]*harness.Scenario{}}
	for _, s := range list {
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if _, dup := c.byName[s.Name]; dup {
			return nil, fmt.Errorf("scenario %q registered twice", s.Name)
		}
		c.byName[s.Name] = s
		c.list = append(c.list, s)
	}
	return c, nil
}

// All returns every scenario in catalogue order.
func (c *Catalogue) All() []*harness.Scenario { return append([]*harness.Scenario(nil), c.list...) }

// Names returns the scenario names in catalogue order.
func (c *Catalogue) Names() []string {
	out := make([]string, len(c.list))
	for i, s := range c.list {
		out[i] = s.Name
	}
	return out
}

// UnknownError names a scenario that is not in the catalogue.
type UnknownError struct {
	Name  string
	Known []string
}

func (e *UnknownError) Error() string {
	known := append([]string(nil), e.Known...)
	sort.Strings(known)
	return fmt.Sprintf("unknown scenario %q (known: %s)", e.Name, strings.Join(known, ", "))
}

// Get returns scenarios by name, in the order given.
func (c *Catalogue) Get(names ...string) ([]*harness.Scenario, error) {
	var out []*harness.Scenario
	for _, n := range names {
		s, ok := c.byName[n]
		if !ok {
			return nil, &UnknownError{Name: n, Known: c.Names()}
		}
		out = append(out, s)
	}
	return out, nil
}
