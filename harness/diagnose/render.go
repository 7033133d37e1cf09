package diagnose

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for a terminal: a table of the matched
// failure modes, then each one's explanation, or what was found.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "read %s\n\n", r.inputsLine())
	if len(r.Matches) == 0 {
		r.writeNothing(w, "")
		return nil
	}
	t := tablewriter.NewTable(w)
	t.Header("failure mode", "confidence", "evidence", "reproduce with")
	for _, m := range r.Matches {
		t.Append(m.ID+": "+m.Title, fmt.Sprintf("%s (%.2f)", m.Level, m.Confidence), fmt.Sprintf("%d lines", len(m.Evidence)), orNone(m.Reproduce))
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, m := range r.Matches {
		fmt.Fprintf(w, "\n%s — %s (FAILURES.md §%s, %s)\n", m.ID, m.Title, m.Section, m.Source)
		fmt.Fprintf(w, "  confidence: %s (%.2f)\n  why:\n", m.Level, m.Confidence)
		for _, y := range m.Why {
			fmt.Fprintf(w, "    - %s\n", y)
		}
		fmt.Fprintln(w, "  evidence:")
		for _, e := range m.Evidence {
			fmt.Fprintf(w, "    %s:%d (%s) %s\n", e.File, e.Line, e.Place, e.Text)
		}
		fmt.Fprintf(w, "  root cause: %s\n", m.RootCause)
		for _, f := range m.Fixes {
			fmt.Fprintf(w, "  fix: %s\n", f)
		}
		for _, c := range m.Conf {
			fmt.Fprintf(w, "  conf: %s (default %s) %s\n", c.Key, c.Default, c.Note)
		}
		if m.Safeguard != "" {
			fmt.Fprintf(w, "  would have been caught by: %s\n", m.Safeguard)
		}
		fmt.Fprintf(w, "  reproduce: %s\n", orNone(m.Reproduce))
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(no experiment in this build yet)"
	}
	return s
}

func (r *Report) inputsLine() string {
	kinds := map[string]int{}
	var order []string
	for _, in := range r.Inputs {
		k := in.Kind
		if k == "" {
			k = "log"
		}
		if kinds[k] == 0 {
			order = append(order, k)
		}
		kinds[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" (%d records)", r.Summary.Records)
}

// writeNothing says no documented failure matched and summarises the failures
// found, with prefix before each line (markdown uses "- ").
func (r *Report) writeNothing(w io.Writer, bullet string) {
	s := r.Summary
	fmt.Fprintln(w, "No documented failure mode matched these logs.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "What they show:")
	fmt.Fprintf(w, "%sfailed tasks: %d\n", or(bullet, "  "), s.FailedTasks)
	if len(s.Exceptions) > 0 {
		var xs []string
		for _, c := range s.Exceptions {
			xs = append(xs, fmt.Sprintf("%s ×%d", c.Name, c.N))
		}
		fmt.Fprintf(w, "%stop exception kinds: %s\n", or(bullet, "  "), strings.Join(xs, ", "))
	}
	for _, l := range s.LostExecutors {
		fmt.Fprintf(w, "%slost executor: %s\n", or(bullet, "  "), l)
	}
	for _, a := range s.Aborted {
		fmt.Fprintf(w, "%saborted: %s\n", or(bullet, "  "), a)
	}
	if a := s.EventLog; a != nil {
		fmt.Fprintf(w, "%sevent log: %d tasks (%d failed), %d executors added, %d removed, %d excluded, %d nodes excluded, %d jobs (%d failed)\n",
			or(bullet, "  "), a.Tasks, a.FailedTasks, a.ExecutorsAdded, a.ExecutorsRemoved, a.ExcludedExecutors, a.ExcludedNodes, a.Jobs, a.FailedJobs)
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// WriteMarkdown writes the report as markdown.
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "# faultbook diagnose\n\nRead %s.\n\n", r.inputsLine())
	if len(r.Matches) == 0 {
		r.writeNothing(w, "- ")
		return nil
	}
	fmt.Fprintln(w, "| failure mode | confidence | reproduce with |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	for _, m := range r.Matches {
		fmt.Fprintf(w, "| `%s` %s | %s (%.2f) | `%s` |\n", m.ID, md(m.Title), m.Level, m.Confidence, orNone(m.Reproduce))
	}
	for _, m := range r.Matches {
		fmt.Fprintf(w, "\n## %s\n\n%s (FAILURES.md §%s, %s)\n\n", m.ID, md(m.Title), m.Section, m.Source)
		for _, y := range m.Why {
			fmt.Fprintf(w, "- %s\n", md(y))
		}
		fmt.Fprintln(w, "\nEvidence:\n\n```")
		for _, e := range m.Evidence {
			fmt.Fprintf(w, "%s:%d (%s) %s\n", e.File, e.Line, e.Place, strings.ReplaceAll(e.Text, "```", "'''"))
		}
		fmt.Fprintf(w, "```\n\n**Root cause.** %s\n\n", md(m.RootCause))
		for _, f := range m.Fixes {
			fmt.Fprintf(w, "- Fix: %s\n", md(f))
		}
		for _, c := range m.Conf {
			fmt.Fprintf(w, "- `%s` (default `%s`): %s\n", c.Key, c.Default, md(c.Note))
		}
		if m.Safeguard != "" {
			fmt.Fprintf(w, "- Would have been caught by: %s\n", md(m.Safeguard))
		}
		fmt.Fprintf(w, "- Reproduce: `%s`\n", orNone(m.Reproduce))
	}
	return nil
}

func md(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s) }
